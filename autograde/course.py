"""The course on disk and thin wrappers around nbgrader's converters.

A *course root* holds ``solutions/NN-name/NN-name.ipynb`` (nbgrader's source directory)
and ``lessons/NN-name/NN-name.ipynb`` (its release directory). Every nbgrader run here
happens in a temporary *work course* (a copy of what the run needs plus its own
gradebook), so instructor state never dirties the repository.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = Path(__file__).resolve().with_name("nbgrader_config.py")
IGNORED = {".ipynb_checkpoints", "__pycache__", ".DS_Store", "submission.csv"}  # lesson 10 writes the last


class CourseError(Exception):
    """A problem with the course or the command line that the user must fix."""


def setup_environment() -> None:
    """Make kernels start from this interpreter and run quietly and headless.

    The kernelspec ``python3`` is looked up in JUPYTER_PATH first; pointing it at this
    environment's share/jupyter means the venv's ipykernel spec wins over any user-wide
    one, and jupyter_client starts a spec whose argv[0] is ``python`` with sys.executable.
    """
    share = str(Path(sys.prefix) / "share" / "jupyter")
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if share not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([share] + paths)
    # nbgrader shells out to `alembic` (gradebook schema); find it in this environment
    # even when the venv is not activated (.venv/bin/autograde called directly).
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # nobody moves sliders here: mirkit.widgets.interact calls the function once instead of
    # building widgets, whose execution through nbclient can hang (jupyter/nbclient#312)
    os.environ["MIRKIT_HEADLESS"] = "1"
    # nbgrader's gradebook trips SQLAlchemy 2 autoflush warnings that are harmless noise
    warnings.filterwarnings("ignore", message=r".*not in session.*")


def kernel_python() -> str:
    """The interpreter that the notebooks' ``python3`` kernel will run."""
    from jupyter_client.kernelspec import KernelSpecManager

    argv0 = KernelSpecManager().get_kernel_spec("python3").argv[0]
    if argv0 in {"python", "python3", "python%d.%d" % sys.version_info[:2]}:
        return sys.executable  # jupyter_client substitutes sys.executable for these
    return argv0


def load_config(root: Path):
    """nbgrader config from autograde/nbgrader_config.py, with the course root set."""
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader(CONFIG_FILE.name, str(CONFIG_FILE.parent)).load_config()
    cfg.CourseDirectory.root = str(Path(root).resolve())
    return cfg


def nbgrader_logger() -> logging.Logger:
    """A private logger for nbgrader: its log is captured per run, not sprayed on stderr."""
    log = logging.getLogger("autograde.nbgrader")
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


def run_converter(kind: str, root: Path, assignment: str, student: str = ".",
                  db_url: str | None = None, **traits) -> dict:
    """Run one nbgrader converter in course ``root``.

    kind: "generate_assignment" | "autograde" | "generate_feedback".
    db_url: the gradebook (default: ``root``/gradebook.db), e.g. a PostgreSQL URL.
    Returns nbgrader's capture_log dict: success (bool), log (str), error (traceback).
    """
    from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    classes = {"generate_assignment": GenerateAssignment, "autograde": Autograde,
               "generate_feedback": GenerateFeedback}
    cfg = load_config(root)
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = assignment
    coursedir.student_id = student
    if db_url:
        coursedir.db_url = db_url
    converter = classes[kind](coursedir=coursedir, config=cfg, log=nbgrader_logger())
    converter.force = True
    for name, value in traits.items():
        setattr(converter, name, value)
    return capture_log(converter)


def db_url(root: Path) -> str:
    return "sqlite:///" + str(Path(root).resolve() / "gradebook.db")


def sqlalchemy_url(db: str | Path) -> str:
    """A gradebook given as a file path or a URL, as SQLAlchemy wants it.

    ``postgresql://user@host/db`` uses the psycopg (3) driver pinned in requirements.lock.
    """
    text = str(db)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).resolve())


def _lesson_dirs(root: Path) -> list[Path]:
    src = Path(root) / "solutions"
    if not src.is_dir():
        return []
    return sorted(p for p in src.iterdir()
                  if p.is_dir() and p.name not in IGNORED and not p.name.startswith("."))


def find_lessons(root: Path) -> list[str]:
    """Names of the lesson folders under solutions/ that hold a notebook (sorted)."""
    return [p.name for p in _lesson_dirs(root) if any(p.glob("*.ipynb"))]


def empty_lesson_dirs(root: Path) -> list[str]:
    """Folders under solutions/ without any notebook yet (git does not keep them)."""
    return [p.name for p in _lesson_dirs(root) if not any(p.glob("*.ipynb"))]


def orphan_releases(root: Path) -> list[str]:
    """Folders of lessons/ that no lesson of solutions/ generates."""
    rel = Path(root) / "lessons"
    if not rel.is_dir():
        return []
    have = set(find_lessons(root))
    return sorted(p.name for p in rel.iterdir() if p.is_dir() and p.name not in have
                  and p.name not in IGNORED and not p.name.startswith("."))


def select_lessons(root: Path, wanted: list[str] | None) -> list[str]:
    """Resolve --lesson arguments: an exact name, a unique prefix ("00") or a path."""
    available = find_lessons(root)
    if not wanted:
        return available
    chosen = []
    for item in wanted:
        name = Path(item.rstrip("/")).name.removesuffix(".ipynb")
        if name in available:
            chosen.append(name)
            continue
        matches = [a for a in available if a.startswith(name)]
        if len(matches) == 1:
            chosen.append(matches[0])
            continue
        have = ", ".join(available) or "none"
        why = "is ambiguous" if matches else "does not exist"
        raise CourseError(f"lesson {item!r} {why} in {Path(root) / 'solutions'} "
                          f"(lessons: {have})")
    return list(dict.fromkeys(chosen))


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*IGNORED), dirs_exist_ok=True)


def new_work_course(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"autograde-{prefix}-"))


def generate_release(root: Path, lesson: str, work: Path,
                     db_url: str | None = None) -> tuple[Path, dict]:
    """nbgrader generate_assignment of one lesson inside ``work``.

    Copies solutions/<lesson> into the work course, generates the student version there
    (and the gradebook entries: notebooks, graded cells, checksums) and returns the path
    of the generated lessons/<lesson> folder with nbgrader's result dict.
    """
    copy_tree(Path(root) / "solutions" / lesson, work / "solutions" / lesson)
    result = run_converter("generate_assignment", work, lesson, db_url=db_url)
    return work / "lessons" / lesson, result


def release_lesson(root: Path, lesson: str) -> Path:
    """Regenerate lessons/<lesson> from solutions/<lesson>; returns the lesson folder."""
    root = Path(root)
    src = root / "solutions" / lesson
    notebooks = sorted(p.name for p in src.glob("*.ipynb"))
    if notebooks != [f"{lesson}.ipynb"]:
        raise CourseError(f"solutions/{lesson}/ must hold exactly one notebook, "
                          f"{lesson}.ipynb (found {notebooks or 'none'})")
    work = new_work_course("release")
    try:
        generated, result = generate_release(root, lesson, work)
        if not result["success"]:
            raise CourseError(f"nbgrader generate_assignment failed for {lesson}:\n"
                              + tail(result))
        dest = root / "lessons" / lesson
        staging = root / "lessons" / f".{lesson}.new"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(generated, staging)
        # Swap in one step so a crash never leaves a half-written lesson behind.
        if dest.exists():
            old = root / "lessons" / f".{lesson}.old"
            shutil.rmtree(old, ignore_errors=True)
            dest.rename(old)
            staging.rename(dest)
            shutil.rmtree(old)
        else:
            staging.rename(dest)
        return dest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def tail(result: dict, lines: int = 30) -> str:
    """The end of an nbgrader log/traceback, for error messages."""
    text = (result.get("log") or "") + (result.get("error") or "")
    kept = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join("    " + ln for ln in kept[-lines:])


def read_notebook_json(path: Path):
    """Parse a notebook as JSON; raises CourseError with the file and the reason."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CourseError(f"{path}: not a readable notebook ({exc})") from exc
