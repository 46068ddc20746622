"""Grading one notebook in isolation: ``grade_notebook(lesson, notebook) -> GradeResult``.

A submission is untrusted code. It runs like this:

- the *coordinator* (``autograde grade``, or any program that calls :func:`grade_notebook`)
  starts one *worker* process per submission, in its own session, and kills that session when
  the worker ends or overruns the wall-time limit;
- the worker is trusted: it runs nbgrader's autograde in a private throw-away course (a copy of
  the lesson's gradebook, no other student) and reads the grades back;
- only the notebook's *kernel* runs the student's code, inside a sandbox that sees exactly one
  folder read-write (the autograded copy of this one notebook plus the lesson's release files),
  the Python installation and the generated datasets read-only, and nothing else: never
  ``solutions/``, the gradebook, another student's folder or the rest of the repository.

Two isolations, reported in every result as ``isolation``:

``bubblewrap``  (Linux with ``bwrap``, installed by ``.ci/system-deps``): new mount, PID,
    network, IPC and UTS namespaces (no network at all: the kernel talks to nbgrader over Unix
    sockets), a private ``/tmp`` of bounded size, killed with its parent; the kernel cannot see
    or signal any process outside its sandbox, and when the kernel ends every process it forked
    ends with it. When the grader runs as root the kernel runs as a fresh unprivileged uid.
``rlimits``  (the fallback: no ``bwrap``, or ``MIRKIT_SANDBOX=rlimits``): the kernel starts in
    its own session with the resource limits below, a scrubbed environment and (as root) a fresh
    uid; afterwards every process of that uid (or of that session) is killed. It does not hide
    the file system or the network: use it for trusted classes or on platforms without bwrap.

Both apply :class:`Limits` (memory, CPU time, wall time, processes, output size, file size);
when one is hit, the result says which one, in which cell.

What a student's failure costs: only that student. A kernel that dies part-way keeps the
points of the graded cells that ran before it died (nbgrader scores a cell by its outputs: the
dead cell and every later cell get an error output, so they score 0) and the result's
``problem`` says why. Feedback shows which hidden test failed and its message, never the hidden
tests' code (nbgrader #917).

The stable entry point for other programs (e.g. a "hand in and get graded" server)::

    from autograde.sandbox import grade_notebook, Limits
    res = grade_notebook("01-artificial-neuron", Path("upload.ipynb"), limits=Limits(wall_seconds=300))
    res.score, res.max_score, res.cells, res.feedback_html, res.problem, res.isolation

It is safe to call from several threads at once (each call is its own worker process, or
takes one from a shared :class:`WorkerPool`).
"""
from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import course

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
HIDDEN_NOTE = "# (hidden tests: run when graded; their code is not shown)"
SANDBOX_ENV = "MIRKIT_SANDBOX"  # "bubblewrap" | "rlimits": force one isolation (tests, debugging)
_UID_BASE = 1_000_000  # fresh uids for sandboxes when the grader runs as root


@dataclass
class Limits:
    """What one submission may use. Every limit hit is reported with the student's name."""

    memory_mb: int = 4096      # data segment + anonymous memory of each kernel process
    cpu_seconds: int = 600     # CPU time of the kernel process
    wall_seconds: int = 600    # the whole grading of one notebook, kernel start to feedback
    processes: int = 64        # processes and threads the kernel may have at once
    output_mb: int = 16        # notebook outputs kept (text, images); the rest is dropped
    file_mb: int = 256         # the largest file the kernel may write
    tmp_mb: int = 512          # its private /tmp (bubblewrap)

    @classmethod
    def from_dict(cls, data: dict | None) -> "Limits":
        return cls(**(data or {}))


@dataclass
class GradeResult:
    """The grade of one notebook; JSON-serialisable (``to_dict``/``from_dict``).

    cells: one dict per graded cell, in notebook order: grade_id, points, max_points, passed,
    message (the failing test's message, never a hidden test's code; "" when it passed).
    graded: False when nothing could be graded (score 0, ``problem`` says why).
    """

    lesson: str
    student: str
    score: float = 0.0
    max_score: float = 0.0
    cells: list[dict] = field(default_factory=list)
    feedback_html: str = ""
    problem: str | None = None
    notes: list[str] = field(default_factory=list)
    isolation: str = ""
    graded: bool = False
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)  # seconds per phase of the worker
    autograded_notebook: str = ""  # the executed notebook with hidden tests (instructor only)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GradeResult":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# ---------------------------------------------------------------- which isolation

_isolation_cache: dict[str, str] = {}


def isolation_available() -> str:
    """``"bubblewrap"`` when bwrap can make a sandbox here, else ``"rlimits"``."""
    forced = os.environ.get(SANDBOX_ENV)
    if forced in ("bubblewrap", "rlimits"):
        return forced
    if "auto" not in _isolation_cache:
        ok = False
        if sys.platform.startswith("linux") and shutil.which("bwrap"):
            probe = [shutil.which("bwrap"), *_namespace_args(), "--ro-bind", "/", "/", "true"]
            try:
                ok = subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
        _isolation_cache["auto"] = "bubblewrap" if ok else "rlimits"
    return _isolation_cache["auto"]


def _namespace_args() -> list[str]:
    # as root, bwrap makes the namespaces itself and the kernel drops to a fresh uid (setpriv);
    # otherwise it needs a user namespace, which maps the grader's own uid
    user = [] if os.geteuid() == 0 else ["--unshare-user"]
    return [*user, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--die-with-parent"]


def _bind_parents(path: Path, made: set[str]) -> list[str]:
    """bwrap makes missing parent folders 0700; make them traversable for the kernel's uid."""
    args = []
    for parent in reversed(path.parents):
        p = str(parent)
        if p == "/" or p in made:
            continue
        made.add(p)
        args += ["--perms", "0755", "--dir", p]
    return args


def _python_roots() -> list[Path]:
    """Folders the kernel's Python needs: the venv (or prefix) and the base installation."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
             Path(sys.executable).resolve().parent.parent}
    # editable installs: mirkit's own package folder (never the repository around it)
    import mirkit

    roots.add(Path(mirkit.__file__).resolve().parent)
    return sorted(roots)


def sandbox_command(kernel_cmd: list[str], *, isolation: str, run_dir: Path, ctl_dir: Path,
                    data_dirs: dict[str, Path], limits: Limits, uid: int | None,
                    env: dict[str, str]) -> list[str]:
    """The command line that starts ``kernel_cmd`` inside the sandbox."""
    mb = 1024 * 1024
    nproc = limits.processes
    if uid is None:  # RLIMIT_NPROC counts every process of our uid: allow for the grader's own
        nproc += _count_processes(os.getuid())
    prlimit = [shutil.which("prlimit") or "prlimit",
               f"--data={limits.memory_mb * mb}", f"--cpu={limits.cpu_seconds}:"
               f"{limits.cpu_seconds + 5}", f"--nproc={nproc}",
               f"--fsize={limits.file_mb * mb}", "--core=0", "--"]
    drop = []
    if uid is not None:
        drop = [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}",
                "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all",
                "--"]
    if isolation != "bubblewrap":
        return [*prlimit, *drop, *kernel_cmd]
    made: set[str] = set()
    # as root, setpriv needs CAP_SETUID/SETGID for its one switch to the fresh uid, which then
    # clears every capability; otherwise the kernel gets none from the start
    caps = ["--cap-drop", "ALL"] if uid is None else []
    args = [shutil.which("bwrap"), *_namespace_args(), *caps, "--ro-bind", "/usr", "/usr"]
    for link in ("bin", "sbin", "lib", "lib32", "lib64"):
        target = Path("/") / link
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            args += ["--ro-bind", str(target), str(target)]
    for etc in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts", "/etc/mime.types",
                "/etc/alternatives", "/etc/ssl/certs"):
        if os.path.exists(etc):
            args += [*_bind_parents(Path(etc), made), "--ro-bind", etc, etc]
    # the private /tmp first: a Python or a course that lives under /tmp (a CI clone) is bound
    # on top of it afterwards, not hidden by it
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.tmp_mb * mb),
             "--tmpfs", "/tmp"]
    made.add("/tmp")
    for root in _python_roots():
        if str(root).startswith("/usr/"):
            continue
        args += [*_bind_parents(root, made), "--ro-bind", str(root), str(root)]
    for name, folder in sorted(data_dirs.items()):
        args += [*_bind_parents(Path("/data") / name, made), "--ro-bind", str(folder),
                 f"/data/{name}"]
    for d in (run_dir, ctl_dir):
        args += [*_bind_parents(d, made), "--bind", str(d), str(d)]
    args += ["--chdir", str(run_dir), "--clearenv"]
    for k, v in sorted(env.items()):
        args += ["--setenv", k, v]
    return [*prlimit, *args, *drop, *kernel_cmd]


def kernel_env(threads: int, token: str, data: bool) -> dict[str, str]:
    """The whole environment of a sandboxed kernel: nothing of the grader's is passed on."""
    bindir = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp/home", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "IPYTHONDIR": "/tmp/home/.ipython", "MPLCONFIGDIR": "/tmp/home/.matplotlib",
        "NUMBA_CACHE_DIR": "/tmp/home/.numba", "JUPYTER_RUNTIME_DIR": "/tmp/home/.runtime",
        "XDG_CACHE_HOME": "/tmp/home/.cache", "KERAS_HOME": "/tmp/home/.keras",
        "MPLBACKEND": "Agg", "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "MIRKIT_HEADLESS": "1", "NBGRADER_EXECUTION": "autograde",
        "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads),
        "MIRKIT_SANDBOX_TOKEN": token,
    }
    if data:
        env["MIRKIT_DATA"] = "/data"
    return env


def _count_processes(uid: int) -> int:
    n = 0
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                n += p.stat().st_uid == uid
            except OSError:
                pass
    return n


def end_processes(uid: int | None = None, token: str | None = None) -> int:
    """Kill every process of the sandbox uid, or whose environment carries ``token``."""
    killed = 0
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            mine = uid is not None and p.stat().st_uid == uid
            if not mine and token:
                mine = f"MIRKIT_SANDBOX_TOKEN={token}".encode() in (p / "environ").read_bytes()
            if mine:
                os.kill(int(p.name), signal.SIGKILL)
                killed += 1
        except (OSError, ValueError):
            pass
    return killed


# ---------------------------------------------------------------- the kernel side (in the worker)

def _make_classes(cfg: dict):
    """The kernel manager and Execute preprocessor of one sandboxed run (cfg: the worker spec)."""
    from jupyter_client.manager import AsyncKernelManager
    from nbclient.exceptions import DeadKernelError
    from nbformat.v4 import new_output
    from nbgrader.preprocessors import Execute

    limits = Limits.from_dict(cfg["limits"])
    ctl = Path(cfg["ctl_dir"])
    uid = cfg.get("uid")

    class SandboxKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            self.transport = "ipc"  # Unix sockets: works with no network namespace
            self.ip = str(ctl / "k")
            self.connection_file = str(ctl / "kernel.json")
            return await super()._async_pre_start_kernel(**kw)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            run_dir = Path(kw.get("cwd") or os.getcwd()).resolve()
            # nbgrader has read the notebook (hidden tests restored) and writes it back after
            # the run: the kernel's folder need not hold it meanwhile
            for nb_file in run_dir.glob("*.ipynb"):
                nb_file.unlink()
            if uid is not None:
                for p in [run_dir, *run_dir.rglob("*"), ctl, *ctl.iterdir()]:
                    os.chown(p, uid, uid)
            env = kernel_env(cfg["threads"], cfg["token"], bool(cfg["data_dirs"]))
            if cfg["isolation"] != "bubblewrap":
                for k, v in list(env.items()):
                    if v.startswith("/tmp/home"):
                        env[k] = v.replace("/tmp/home", str(ctl / "home"))
                env["HOME"] = str(ctl / "home")
                if cfg["data_dirs"]:
                    env["MIRKIT_DATA"] = cfg["data_root"]
            cmd = sandbox_command(kernel_cmd, isolation=cfg["isolation"], run_dir=run_dir,
                                  ctl_dir=ctl, data_dirs={k: Path(v) for k, v in
                                                          cfg["data_dirs"].items()},
                                  limits=limits, uid=uid, env=env)
            kw["env"] = env
            kw["cwd"] = str(run_dir)
            kw["stdin"] = subprocess.DEVNULL
            self.sandbox_process_cmd = cmd
            return await super()._async_launch_kernel(cmd, **kw)

    class SandboxedExecute(Execute):
        """nbgrader's Execute with output limits and partial credit when the kernel dies."""

        def __init__(self, *args, **kwargs):
            kwargs["kernel_manager_class"] = SandboxKernelManager
            super().__init__(*args, **kwargs)
            self._death = None
            self._out_bytes = 0
            self._over: set[int] = set()
            self.events: list[str] = []

        def output(self, outs, msg, display_id, cell_index):
            size = len(json.dumps(msg.get("content", {}), default=str))
            self._out_bytes += size
            if self._out_bytes > limits.output_mb * 1024 * 1024:
                if cell_index not in self._over:
                    self._over.add(cell_index)
                    self.events.append(f"output limit ({limits.output_mb} MB) reached in cell "
                                       f"{cell_index + 1}; the rest of its output was dropped")
                return None
            return super().output(outs, msg, display_id, cell_index)

        def on_cell_executed(self, **kwargs):
            super().on_cell_executed(**kwargs)
            index = kwargs.get("cell_index")
            if index in self._over:
                kwargs["cell"].outputs.append(new_output(
                    "error", ename="OutputLimitExceeded", evalue=f"this cell printed more "
                    f"than the {limits.output_mb} MB a notebook may output",
                    traceback=[f"OutputLimitExceeded: more than {limits.output_mb} MB of "
                               "output; print less"]))

        def preprocess_cell(self, cell, resources, index):
            graded = (cell.cell_type == "code" and cell.source.strip()
                      and (cell.metadata.get("nbgrader") or {}).get("grade"))
            if not graded or self._death is not None:
                return self._run_cell(cell, resources, index)
            # A graded cell must run to its last line: a hidden exception (patched
            # showtraceback, custom exception handlers, cells rewritten into try/except...)
            # would otherwise leave no error output and earn the points.
            original, marker = cell.source, f"graded-cell-end-{os.urandom(8).hex()}"
            cell.source = original + f"\nprint({marker!r})"
            try:
                cell, resources = self._run_cell(cell, resources, index)
            finally:
                cell.source = original
            reached, kept = False, []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and marker in out.get("text", ""):
                    reached = True
                    out["text"] = out["text"].replace(marker + "\n", "").replace(marker, "")
                    if not out["text"]:
                        continue
                kept.append(out)
            cell.outputs = kept
            if not reached and not any(o.get("output_type") == "error" for o in kept):
                cell.outputs.append(new_output(
                    "error", ename="GradingCheckFailed", evalue="this test cell did not run "
                    "to its end, yet showed no error (was an error hidden?)",
                    traceback=["GradingCheckFailed: this test cell did not run to its end"]))
            return cell, resources

        def _run_cell(self, cell, resources, index):
            if self._death is not None:
                if cell.cell_type == "code" and cell.source.strip():
                    cell.outputs = [new_output("error", ename="KernelDied",
                                               evalue=f"not run: {self._death}",
                                               traceback=[f"KernelDied: not run: {self._death}"])]
                return cell, resources
            try:
                return super().preprocess_cell(cell, resources, index)
            except DeadKernelError:
                self._death = f"the kernel died in cell {index + 1} ({self._why_dead()})"
                self.events.append(self._death)
                cell.outputs = list(cell.get("outputs", [])) + [new_output(
                    "error", ename="KernelDied", evalue=self._death,
                    traceback=[f"KernelDied: {self._death}"])]
                return cell, resources

        def _why_dead(self) -> str:
            code = None
            try:
                code = self.km.provisioner.process.poll()
            except Exception:
                pass
            sig = -code if code is not None and code < 0 else (code - 128 if code and code > 128
                                                                 else None)
            if sig == signal.SIGXCPU:
                return f"CPU time limit of {limits.cpu_seconds} s reached"
            if sig == signal.SIGXFSZ:
                return f"it wrote a file larger than the {limits.file_mb} MB limit"
            if sig is not None:
                return f"killed by signal {signal.Signals(sig).name}"
            if code is not None:
                return f"it exited with status {code} (sys.exit, os._exit or a crash)"
            return "it stopped answering"

    return SandboxedExecute


# ---------------------------------------------------------------- feedback without hidden code

def strip_hidden(nb: dict) -> dict:
    """A copy of an autograded notebook fit for students: hidden tests' code and tracebacks out."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.get("cells", []):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        if HIDDEN_BEGIN not in src:
            continue
        cell["source"] = re.sub(re.escape(HIDDEN_BEGIN) + r".*?(" + re.escape(HIDDEN_END)
                                + r"|\Z)", HIDDEN_NOTE, src, flags=re.S)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and out.get("ename") != "ExerciseFailed":
                # a traceback quotes the hidden test's lines: keep the name and the message
                out["traceback"] = [f"a hidden test failed: {_message(out)}"]
    return nb


def _message(out: dict) -> str:
    value = str(out.get("evalue") or "").strip()
    first = "\n".join(value.splitlines()[:6])[:500]
    return f"{out.get('ename', 'Error')}: {first}" if first else \
        f"{out.get('ename', 'Error')} (the test gives no message)"


def _cell_results(nb: dict, grades: dict[str, tuple[float, float]]) -> list[dict]:
    cells = []
    for cell in nb.get("cells", []):
        meta = (cell.get("metadata", {}).get("nbgrader") or {})
        gid = meta.get("grade_id")
        if not meta.get("grade") or gid not in grades:
            continue
        score, top = grades[gid]
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        message = _message(errors[-1]) if errors else ""
        if errors and errors[-1].get("ename") != "ExerciseFailed":
            src = cell.get("source", "")
            if HIDDEN_BEGIN in ("".join(src) if isinstance(src, list) else src):
                message = "a hidden test failed or your code raised: " + message
        cells.append({"grade_id": gid, "points": score, "max_points": top,
                      "passed": score >= top, "message": message})
    return cells


# ---------------------------------------------------------------- the worker process

def _worker(spec_path: Path) -> int:
    spec = json.loads(spec_path.read_text("utf-8"))
    out = Path(spec["out_dir"])
    t0 = time.perf_counter()
    res = GradeResult(spec["lesson"], spec["student"], isolation=spec["isolation"])
    try:
        _grade_in_worker(spec, res)
    except Exception as exc:  # the worker must always leave a result behind
        res.problem = f"the grader failed on this notebook: {type(exc).__name__}: {exc}"
    res.seconds = time.perf_counter() - t0
    tmp = out / "result.json.tmp"
    tmp.write_text(json.dumps(res.to_dict()), "utf-8")
    os.replace(tmp, out / "result.json")
    return 0


def _grade_in_worker(spec: dict, res: GradeResult) -> None:
    t0 = time.perf_counter()
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import Execute

    course.setup_environment()
    lesson, student = spec["lesson"], spec["student"]
    work = Path(spec["work"])
    shutil.copy2(Path(spec["template"]) / "gradebook.db", work / "gradebook.db")
    src = Path(spec["template"]) / "solutions" / lesson
    (work / "solutions" / lesson).mkdir(parents=True)
    for p in src.rglob("*"):  # release files only; the worker never needs the solution notebook
        if p.is_file() and p.suffix != ".ipynb":
            dest = work / "solutions" / lesson / p.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, dest)
    sub = work / "submitted" / student / lesson
    sub.mkdir(parents=True)
    shutil.copy2(spec["notebook"], sub / f"{lesson}.ipynb")
    ctl = Path(spec["ctl_dir"])
    (ctl / "home").mkdir(parents=True, exist_ok=True)

    SandboxedExecute = _make_classes(spec)
    res.timings["imports"] = time.perf_counter() - t0
    ran: list = []

    class Recording(SandboxedExecute):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            ran.append(self)

    from nbgrader.converters import Autograde

    pre = [Recording if p is Execute else p for p in Autograde.autograde_preprocessors.default()]
    t0 = time.perf_counter()
    result = course.run_converter("autograde", work, lesson, student,
                                  autograde_preprocessors=pre)
    res.timings["autograde"] = time.perf_counter() - t0
    events = [e for ex in ran for e in ex.events]
    nb_path = work / "autograded" / student / lesson / f"{lesson}.ipynb"
    if not result["success"] or not nb_path.is_file():
        from .grade import _explain_failure

        res.problem = "; ".join(events) or _explain_failure(result)
        return
    nb = json.loads(nb_path.read_text("utf-8"))
    with Gradebook(course.db_url(work)) as gb:
        snb = gb.find_submission_notebook(lesson, lesson, student)
        grades = {g.name: (float(g.score), float(g.max_score)) for g in snb.grades}
        res.score, res.max_score = float(snb.score), float(snb.max_score)
    res.cells = _cell_results(nb, grades)
    res.graded = True
    for i, cell in enumerate(nb["cells"], 1):
        if any(o.get("output_type") == "error" and o.get("ename") == "MemoryError"
               for o in cell.get("outputs", [])):
            events.append(f"memory limit ({spec['limits']['memory_mb']} MB) reached in cell {i}")
    if events:  # limits hit, a dead kernel: this student's problem, said once
        died = any("kernel died" in e for e in events)
        res.problem = "; ".join(events) + ("; the graded cells that ran before it keep their "
                                           "points" if died else "")
    res.autograded_notebook = nb_path.read_text("utf-8")
    if spec.get("feedback", True):
        nb_path.write_text(json.dumps(strip_hidden(nb), indent=1), "utf-8")
        t0 = time.perf_counter()
        fb = course.run_converter("generate_feedback", work, lesson, student)
        res.timings["feedback"] = time.perf_counter() - t0
        html = work / "feedback" / student / lesson / f"{lesson}.html"
        if html.is_file():
            res.feedback_html = html.read_text("utf-8")
        else:
            from .grade import _explain_failure

            res.notes.append("no HTML feedback: " + _explain_failure(fb))


# ---------------------------------------------------------------- the coordinator side

def needed_presets(notebook_text: str) -> list[str]:
    """Dataset presets a lesson asks for (``preset_path("small")``), to generate beforehand."""
    found = re.findall(r"preset_path\(\s*\\?[\"'](\w+)\\?[\"']", notebook_text)
    return sorted(set(found))


@dataclass
class PreparedLesson:
    """A lesson ready to grade: its generated gradebook (template) and dataset folders."""

    lesson: str
    template: Path
    cells: dict
    data_dirs: dict[str, str]
    data_root: str


_prepared: dict[tuple[str, str], PreparedLesson] = {}
_prep_lock = threading.Lock()


@atexit.register
def _remove_templates() -> None:
    for prep in _prepared.values():
        shutil.rmtree(prep.template, ignore_errors=True)


def prepare_lesson(root: Path, lesson: str, cache: Path | None = None) -> PreparedLesson:
    """generate_assignment once for ``lesson`` and the presets it reads; cached per process."""
    root = Path(root).resolve()
    src = root / "solutions" / lesson / f"{lesson}.ipynb"
    if not src.is_file():
        raise course.CourseError(f"unknown lesson {lesson!r}: no {src}")
    text = src.read_text("utf-8")
    key = (str(root), lesson + hashlib.sha256(text.encode()).hexdigest())
    with _prep_lock:
        if key in _prepared and _prepared[key].template.is_dir():
            return _prepared[key]
        course.setup_environment()
        template = Path(tempfile.mkdtemp(prefix=f"autograde-lesson-{lesson}-",
                                         dir=str(cache) if cache else None))
        _, result = course.generate_release(root, lesson, template)
        if not result["success"]:
            raise course.CourseError(f"cannot prepare lesson {lesson} for grading (run "
                                     f"`autograde verify --lesson {lesson}`):\n"
                                     + course.tail(result))
        from .grade import gradebook_cells

        data_dirs = {}
        from mirkit.datasets.cache import data_root, preset_path

        for preset in needed_presets(text):  # generated here, outside any sandbox
            folder = preset_path(preset)
            # made by mkdtemp (0700): the kernel's fresh uid must be able to read it
            mode = folder.stat().st_mode
            if mode & 0o005 != 0o005 and folder.stat().st_uid == os.geteuid():
                folder.chmod(mode | 0o055)
            data_dirs[folder.name] = str(folder)
        prep = PreparedLesson(lesson, template, gradebook_cells(template, lesson), data_dirs,
                              str(data_root()))
        _prepared[key] = prep
        return prep


def _world_reachable(path: Path) -> bool:
    """Every folder above ``path`` (symlinks resolved) lets other users through."""
    real = Path(os.path.realpath(path))
    try:
        return all(os.stat(p).st_mode & 0o001 for p in [*real.parents, real])
    except OSError:
        return False


def _fresh_uid(isolation: str) -> int | None:
    """A fresh unprivileged uid for the kernel when we are root, or None."""
    if os.geteuid() != 0:
        return None
    if isolation != "bubblewrap" and not all(_world_reachable(p) for p in
                                             (Path(sys.executable), Path(sys.prefix))):
        return None  # without bwrap's mounts, another uid could not even start Python
    import secrets

    while True:
        uid = _UID_BASE + secrets.randbelow(1 << 30)
        if not _count_processes(uid):
            return uid


class WorkerPool:
    """Long-lived worker processes, so each notebook does not pay Python's and nbgrader's start.

    A worker grades one notebook at a time (its kernel is still new and sandboxed for every
    notebook); a worker that overruns the wall-time limit, or dies, is killed with everything
    it started and replaced. Use as a context manager; safe to share between threads.
    """

    def __init__(self, size: int):
        import queue

        self.size = max(1, size)
        self._idle: "queue.Queue[subprocess.Popen | None]" = queue.Queue()
        self._all: list[subprocess.Popen] = []
        self._lock = threading.Lock()
        for _ in range(self.size):
            self._idle.put(self._start())

    def _start(self) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "autograde.sandbox", "serve"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True, text=True,
                                bufsize=1)
        with self._lock:
            self._all.append(proc)
        return proc

    def run(self, spec_path: Path, timeout: float) -> str | None:
        """Grade one spec; None when done, else why the worker was stopped."""
        import select

        proc = self._idle.get()
        if proc is None or proc.poll() is not None:
            proc = self._start()
        why = None
        try:
            proc.stdin.write(str(spec_path) + "\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], timeout)
            line = proc.stdout.readline() if ready else None
            if line is None:
                why = "timeout"
            elif line.strip() != "done":
                why = f"the grading process was killed before it finished (exit status {proc.poll()})"
        except (BrokenPipeError, OSError) as exc:
            why = f"the grading process failed ({exc})"
        if why is not None:
            self._kill(proc)
            proc = None
        self._idle.put(proc)
        return why

    def _kill(self, proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def close(self) -> None:
        with self._lock:
            procs, self._all = self._all, []
        for proc in procs:
            if proc.poll() is None:
                try:
                    proc.stdin.close()
                    proc.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            if proc.poll() is None:
                self._kill(proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _serve() -> int:
    """The loop of a pooled worker: one spec path per line in, ``done`` per line out."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever nbgrader prints must not mix with the protocol
    course.setup_environment()
    import nbgrader.converters  # noqa: F401  (paid once per worker, not per notebook)

    for line in sys.stdin:
        if line.strip():
            _worker(Path(line.strip()))
            proto.write("done\n")
    return 0


def grade_notebook(lesson: str, notebook: Path, *, limits: Limits | None = None,
                   root: Path | None = None, student: str = "student",
                   prepared: PreparedLesson | None = None, feedback: bool = True,
                   threads: int = 1, isolation: str | None = None,
                   pool: WorkerPool | None = None) -> GradeResult:
    """Grade one notebook of ``lesson`` in a sandbox; see the module docstring.

    Never raises for a bad or hostile notebook: ``problem`` says what went wrong. Raises
    :class:`course.CourseError` only for the grader's own problems (unknown lesson...).
    pool: a :class:`WorkerPool` to run in (faster for many notebooks); default: a new
    worker process for this notebook alone.
    """
    limits = limits or Limits()
    root = Path(root or course.REPO_ROOT)
    prep = prepared or prepare_lesson(root, lesson)
    isolation = isolation or isolation_available()
    res = GradeResult(lesson, student, isolation=isolation)
    if not re.fullmatch(r"[A-Za-z0-9_.@+-]{1,100}", student) or student.startswith("."):
        res.problem = f"student id {student!r} must be letters, digits, . _ - @ +"
        return res
    scratch = Path(tempfile.mkdtemp(prefix="autograde-sub-"))
    os.chmod(scratch, 0o711)  # the sandbox uid must reach its folders inside
    uid = _fresh_uid(isolation)
    token = os.urandom(8).hex()
    spec = {"lesson": lesson, "student": student, "notebook": str(Path(notebook).resolve()),
            "template": str(prep.template), "work": str(scratch / "course"),
            "ctl_dir": str(scratch / "ctl"), "out_dir": str(scratch / "out"),
            "limits": dataclasses.asdict(limits), "isolation": isolation, "uid": uid,
            "token": token, "threads": max(1, threads), "data_dirs": prep.data_dirs,
            "data_root": prep.data_root, "feedback": feedback}
    for d in ("course", "ctl", "out"):
        (scratch / d).mkdir()
    os.chmod(scratch / "ctl", 0o700)
    spec_path = scratch / "spec.json"
    spec_path.write_text(json.dumps(spec), "utf-8")
    t0 = time.perf_counter()
    log = scratch / "worker.log"
    wall = (f"wall-time limit of {limits.wall_seconds} s reached: grading stopped (an endless "
            "loop, or a very slow notebook?)")
    try:
        if pool is not None:
            why = pool.run(spec_path, limits.wall_seconds)
            if why is not None:
                res.problem = wall if why == "timeout" else why
        else:
            with open(log, "wb") as logf:
                proc = subprocess.Popen([sys.executable, "-m", "autograde.sandbox", "worker",
                                         str(spec_path)], stdout=logf, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        cwd=str(scratch))
                try:
                    proc.wait(timeout=limits.wall_seconds)
                except subprocess.TimeoutExpired:
                    res.problem = wall
                finally:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait()
            if res.problem is None and proc.returncode != 0:
                tail = log.read_text("utf-8", "replace").strip().splitlines()[-3:]
                res.problem = ("the grading process was killed before it finished (exit "
                               f"status {proc.returncode})" + (": " + " | ".join(tail)
                                                               if tail else ""))
        end_processes(uid=uid, token=token)
        result_file = scratch / "out" / "result.json"
        if res.problem is None:
            if result_file.is_file():
                res = GradeResult.from_dict(json.loads(result_file.read_text("utf-8")))
            else:
                res.problem = "the grading process ended without a result"
    finally:
        end_processes(uid=uid, token=token)
        shutil.rmtree(scratch, ignore_errors=True)
    res.seconds = time.perf_counter() - t0
    res.isolation = isolation
    return res


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        sys.exit(_worker(Path(sys.argv[2])))
    if sys.argv[1:] == ["serve"]:
        sys.exit(_serve())
    sys.exit("usage: python -m autograde.sandbox worker SPEC.json (internal; see "
             "autograde.sandbox.grade_notebook)")
