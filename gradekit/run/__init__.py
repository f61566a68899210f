"""The run stage: every submission executed by papermill, its kernel in a sandbox. One file a step:

    batch.py      every submission of an assignment, in parallel, resumable, with a progress bar
    staging.py    the run's folders; the hand-in copied in with the kit's pristine provided files
    execute.py    one submission: stage, papermill in a child process, classify, publish atomically
    kernel.py     the trusted child: papermill driving the sandboxed kernel; records events and outcome
    sandbox.py    bubblewrap and prlimit around the kernel (and around graders' calls of student code)
    limits.py     the assignment's declared limits and the cgroup that caps processes
    classify.py   what the run came to, as a pure function of the notebook, the events and the outcome
"""
