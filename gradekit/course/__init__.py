"""What a course and its assignments declare: folders, limits, tasks, datasets, due dates (read once, typed)."""
from gradekit.course.config import PROFILES, Assignment, Course, Folders, ManualItem, default_data_root

__all__ = ["PROFILES", "Assignment", "Course", "Folders", "ManualItem", "default_data_root"]
