"""nbgrader configuration for students (``make lab``): the course configuration, unchanged.

``make lab`` puts this folder on ``JUPYTER_CONFIG_PATH``, so the Validate button of the
notebook toolbar finds the course's ``autograde/nbgrader_config.py`` (the same timeouts and
kernel settings the grader uses) instead of running without any.
"""
import os

c = get_config()  # noqa: F821  (injected by traitlets when it loads this file)
load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,  # noqa: F821
                            "nbgrader_config.py"))
