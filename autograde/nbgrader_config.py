"""nbgrader configuration of the mirkit course.

The course root is the repository: nbgrader's "source" directory is ``solutions/``
and its "release" directory is ``lessons/``; one assignment per lesson folder::

    solutions/00-audio-as-data/00-audio-as-data.ipynb   (with solutions and hidden tests)
    lessons/00-audio-as-data/00-audio-as-data.ipynb     (student version, generated)

The ``autograde`` CLI loads this file and points ``CourseDirectory.root`` at a temporary
copy of the course when it checks or grades, so the gradebook and nbgrader's working
folders (submitted/, autograded/, feedback/) never land in the repository.  The file also
works with plain nbgrader, from the repository root::

    nbgrader generate_assignment 00-audio-as-data --JupyterApp.config_file=autograde/nbgrader_config.py

(nbgrader 0.9 has no ``--config`` option: it warns "Unrecognized alias" and ignores the file.)
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
# Headless kernels: nobody moves a slider while nbgrader executes a notebook, and widgets run
# through nbclient can hang forever (jupyter/nbclient#312); mirkit.widgets.interact then calls
# the function once instead. The line runs in every kernel that nbgrader's Execute starts
# (autograde, validate, formgrader's autograde), before the first cell, and in no other kernel:
# a student's or instructor's JupyterLab keeps live widgets.
HEADLESS_LINE = "import os; os.environ['MIRKIT_HEADLESS'] = '1'"
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR",
                             f"--IPKernelApp.exec_lines={HEADLESS_LINE}"]

# Files that never belong to a lesson release.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store",
    "submission.csv",  # what lesson 10 writes next to the notebook when it runs
]
