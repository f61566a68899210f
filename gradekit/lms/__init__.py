"""What learning-management systems write and read: their submission archives (Moodle, Canvas, a plain
folder), Moodle's grading worksheet, Canvas's gradebook, and the course roster that maps their identities
to the course's student ids. Formats are matched as the LMSs write them; nothing here knows an assignment."""
