"""nbgrader configuration of the mirkit course.

The course root is the repository: nbgrader's "source" directory is ``solutions/``
and its "release" directory is ``lessons/``; one assignment per lesson folder::

    solutions/00-audio-as-data/00-audio-as-data.ipynb   (with solutions and hidden tests)
    lessons/00-audio-as-data/00-audio-as-data.ipynb     (student version, generated)

The ``autograde`` CLI loads this file and points ``CourseDirectory.root`` at a temporary
copy of the course when it checks or grades, so the gradebook and nbgrader's working
folders (submitted/, autograded/, feedback/) never land in the repository.  The file also
works with plain nbgrader: ``nbgrader generate_assignment 00-audio-as-data
--config autograde/nbgrader_config.py``.
"""
import os

c = get_config()  # noqa: F821  (injected by traitlets when it loads this file)

c.CourseDirectory.course_id = "mirkit"
c.CourseDirectory.root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "lessons"

# Lessons may train small models: allow 5 minutes per cell (nbgrader's default is 30 s).
c.Execute.timeout = 300
c.ExecutePreprocessor.timeout = 300
# Never wait forever on a dead or hung kernel.
c.Execute.startup_timeout = 120
# Quiet kernels: only errors from ipykernel itself (cell errors still go to the outputs).
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]

# Files that never belong to a lesson release.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store",
]
