"""A "Hand in" button for the last cell of a lesson: ``handin_button()``.

It hands in the notebook it runs in (the file JupyterLab opened, found from the kernel's
``__session__``, which JupyterLab sets to the notebook's path), then shows the grade. The
button sends the file as it is on disk: save first (Ctrl-S). Executed without a front end
(the course check, autograding, ``MIRKIT_HEADLESS=1``) it shows nothing and sends nothing.
A JupyterLab menu entry would need a compiled front-end extension; a widget needs nothing.
"""
from __future__ import annotations

import os
from pathlib import Path


def notebook_path(session=None) -> Path | None:
    """The path of the running notebook, or None when it cannot be found."""
    if session is None:
        try:
            from IPython import get_ipython
            shell = get_ipython()
        except ImportError:
            shell = None
        session = (shell.user_ns.get("__session__") if shell is not None else None) \
            or os.environ.get("JPY_SESSION_NAME")
    if not session:
        return None
    p = Path(session)
    # absolute when JupyterLab knows the file; else relative to the server's root, while the
    # kernel runs in the notebook's folder
    for candidate in (p, Path.cwd() / p.name):
        if candidate.suffix == ".ipynb" and candidate.is_file():
            return candidate.resolve()
    return None


def handin_button(path=None, lesson=None, url=None, token=None):
    """Show a button that hands this notebook in and prints the grade when it is back.

    path: the notebook (default: the one this kernel runs); lesson: its lesson folder name
    (default: the file name); url/token: as for ``Client`` (default: the environment).
    Returns the widget, or None when headless."""
    from mirkit.widgets import headless
    if headless():
        return None
    import ipywidgets as widgets
    from IPython.display import display

    from . import ChallengeError, Client, describe_grade

    button = widgets.Button(description="Hand in", icon="upload",
                            tooltip="Save first (Ctrl-S): the file on disk is what is sent")
    out = widgets.Output()
    target = Path(path) if path else notebook_path()
    hint = widgets.HTML("<b>Save the notebook first</b> (Ctrl-S): the button sends the saved "
                        f"file{f' <code>{target.name}</code>' if target else ''}.")

    def click(_):
        button.disabled = True
        out.clear_output()
        with out:
            try:
                if target is None:
                    raise ChallengeError("Cannot tell which notebook this is: call "
                                         "handin_button('path/to/lesson.ipynb').")
                print(f"handing in {target.name} ...")
                h = Client(url, token).handin(
                    target, lesson=lesson,
                    on_wait=lambda h: print(f"  #{h['id']} {h['status']} ...", end="\r"))
                print(describe_grade(h))
            except ChallengeError as exc:
                print(f"not handed in: {exc}")
            finally:
                button.disabled = False

    button.on_click(click)
    box = widgets.VBox([hint, button, out])
    display(box)
    return box
