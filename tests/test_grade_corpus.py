"""The adversarial corpus: honest, cheating, hostile and broken submissions graded in ONE call.

Fixture lesson ``yy-grading`` (tests/fixtures/grading/course: two exercises worth 2 + 3
points, a widget, a release file ``notes.txt``). Every honest student gets full marks, every
cheat 0 on what it cheats, every broken file a clear report; no hostile notebook costs another
student anything, reads what it must not, reaches the network, leaves a process behind or
changes the course folder.
"""
from __future__ import annotations

import copy
import csv
import hashlib
import json
import shutil
import socket
import sqlite3
import threading
from pathlib import Path

import pytest

from autograde import cli, sandbox

pytestmark = pytest.mark.xdist_group("grading")  # one class at a time on 2 cores

COURSE = Path(__file__).parent / "fixtures" / "grading" / "course"
LESSON = "yy-grading"
NB = f"{LESSON}.ipynb"
SECRET = "grader-secret-4b1d"       # in the grader's environment: must never reach a student
MARKER = "corpus-leftover-7f3a"     # in the command line of processes a notebook leaves behind
LEAK = "LEAKED:"                   # what a hostile notebook prints when it gets something
LEAK_EXPR = "'LEAK' + 'ED:'"       # ... written so that its source does not contain it

SOLVE_SCALE = "def scale(x, a):\n    return a * np.asarray(x, dtype=float)\n"
SOLVE_ENERGY = "def energy(x):\n    return float(np.mean(np.asarray(x, dtype=float) ** 2))\n"
WRONG_SCALE = "def scale(x, a):\n    return np.asarray(x, dtype=float)\n"
WRONG_ENERGY = "def energy(x):\n    return 0.5\n"


def _gid(cell):
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def _load(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def _edit(nb: dict, **cells: str) -> dict:
    """A copy of nb with the source of the cells named by grade_id (dashes as underscores)."""
    nb = copy.deepcopy(nb)
    for gid, src in cells.items():
        cell = next(c for c in nb["cells"] if _gid(c) == gid.replace("_", "-"))
        cell["source"] = src
    return nb


def _cheat(prelude: str, scale=WRONG_SCALE, energy=WRONG_ENERGY) -> dict:
    """Wrong answers, with ``prelude`` run first in the first exercise cell."""
    return {"ex_scale": prelude + "\n" + scale, "ex_energy": energy}


def _probe(code: str) -> dict:
    """Right answers; ``code`` runs in the first exercise cell and prints LEAK on success."""
    return {"ex_scale": code + "\n" + SOLVE_SCALE, "ex_energy": SOLVE_ENERGY}


def _corpus(tmp: Path, subm: Path, port: int, strong: bool) -> dict[str, tuple[dict | str, object]]:
    """name -> (notebook dict | raw text, expected): (ex-scale, ex-energy) points or a message.

    strong: the sandbox hides the file system and the network (bubblewrap); the fallback does
    not, so the probes that would succeed there (or kill the test run) are left out.
    """
    root = tmp / "course"
    leak_paths = [root / "solutions" / LESSON / NB, subm / "alice" / LESSON / NB,
                  tmp / "out" / "gradebook.db"]
    read_all = (f"for p in {[str(p) for p in leak_paths]!r}:\n    try:\n"
                f"        print({LEAK_EXPR}, len(open(p, 'rb').read()))\n"
                "    except OSError:\n        pass\n")
    cases = {
        # honest
        "alice": ("sol", (2, 3)),
        "bob": ("blank", (0, 0)),
        # right on the visible test, wrong on the hidden one
        "cathy": ({"ex_scale": SOLVE_SCALE, "ex_energy": "def energy(x):\n"
                   "    return float(np.mean(np.abs(x)))\n"}, (2, 0)),
        # cheats that must earn nothing
        "eq-object": (_cheat("class Always:\n    def __eq__(self, o): return True\n"
                             "    def __ne__(self, o): return False\n",
                             scale="def scale(x, a):\n    return Always()\n",
                             energy="def energy(x):\n    return Always()\n"), (0, 0)),
        "numpy-patch": (_cheat("np.testing.assert_allclose = lambda *a, **k: None\n"
                               "np.allclose = lambda *a, **k: True\n"
                               "np.array_equal = lambda *a, **k: True\n"
                               "np.ndarray_tolist = None\n"), (0, 0)),
        "silent-traceback": (_cheat("get_ipython().showtraceback = lambda *a, **k: None\n"
                                    "get_ipython()._showtraceback = lambda *a, **k: None\n"),
                             (0, 0)),
        "custom-exc": (_cheat("get_ipython().set_custom_exc((BaseException,), "
                              "lambda *a, **k: None)\n"), (0, 0)),
        "hook-clears-error": (_cheat(
            "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
            "def _ok(result):\n    result.error_in_exec = None\n"
            "ip.events.register('post_run_cell', _ok)\n"), (0, 0)),
        "try-wrap-cells": (_cheat(
            "def _wrap(lines):\n"
            "    return ['try:\\n'] + ['    ' + l for l in lines] + "
            "['\\nexcept BaseException:\\n    pass\\n']\n"
            "get_ipython().input_transformers_post.append(_wrap)\n"), (0, 0)),
        "check-patched": (_cheat("import mirkit.check as _c\n"
                                 "_c.exercise.__exit__ = lambda self, *a: True\n"), (0, 0)),
        "combination": (_cheat("class Always:\n    def __eq__(self, o): return True\n"
                               "np.testing.assert_allclose = lambda *a, **k: None\n"
                               "get_ipython().showtraceback = lambda *a, **k: None\n",
                               scale="def scale(x, a):\n    return Always()\n"), (0, 0)),
        "emptied-tests": ({**_cheat(""), "ex_scale_tests": "", "ex_energy_tests": "pass"},
                          (0, 0)),
        "inflated-points": ("inflate", (0, 0)),
        # hostile: the class is graded anyway, nothing leaks, nothing is left running
        "kill-parent": (_probe("import os, signal\ntry:\n    os.kill(os.getppid(), "
                               "signal.SIGKILL)\nexcept OSError:\n    pass\n"), (2, 3)),
        "kill-all": (_probe("import os, signal\nos.kill(-1, signal.SIGKILL)\n"), (0, 3)),
        "exit-kernel": ({"ex_scale": SOLVE_SCALE, "ex_energy": "import os\nos._exit(3)"},
                        "the kernel died in cell"),
        "sys-exit": ({"ex_scale": "import sys\nsys.exit(0)", "ex_energy": SOLVE_ENERGY},
                     (0, 3)),
        "delete-up": (_probe("import shutil, glob\nfor p in glob.glob('../../../*') + "
                             f"glob.glob({str(root)!r} + '/*'):\n"
                             "    shutil.rmtree(p, ignore_errors=True)\n"), (2, 3)),
        "read-secrets": (_probe(read_all + "\nimport glob\nfor p in glob.glob('../../../**/"
                                "*.ipynb', recursive=True) + glob.glob('/tmp/**/gradebook.db',"
                                " recursive=True):\n    print(" + LEAK_EXPR + ", p)\n"),
                         (2, 3)),
        "print-env": (_probe(f"import os\nif 'MIRKIT_TEST_' + 'SECRET' in os.environ: print({LEAK_EXPR}, "
                             "dict(os.environ))\nprint(dict(os.environ))\n"), (2, 3)),
        "network": (_probe(f"import socket\ntry:\n    socket.create_connection(('127.0.0.1',"
                           f" {port}), timeout=3)\n    print({LEAK_EXPR}, 'network')\n"
                           "except OSError:\n    pass\n"), (2, 3)),
        "leave-process": (_probe(
            "import subprocess, sys\nfor _ in range(3):\n    subprocess.Popen([sys.executable,"
            f" '-c', 'import time; time.sleep(900)  # {MARKER}'], start_new_session=True)\n"),
            (2, 3)),
        "fork-many": (_probe("import subprocess, sys\nkids = []\ntry:\n    for _ in range(300):"
                             "\n        kids.append(subprocess.Popen(['sleep', '60']))\n"
                             f"    print({LEAK_EXPR}, 'no process limit')\nexcept OSError:\n"
                             "    pass\nfor k in kids:\n    k.kill()\n"), (2, 3)),
        "memory-hog": ({"ex_scale": "import numpy as np\nbig = np.ones(12 * 1024**3 // 8)\n"
                        + SOLVE_SCALE, "ex_energy": SOLVE_ENERGY}, "memory limit"),
        "cpu-loop": ({"ex_scale": SOLVE_SCALE, "ex_energy": "while True:\n    pass"},
                     "CPU time limit"),
        "output-flood": ({"ex_scale": SOLVE_SCALE, "ex_energy": "for _ in range(400):\n"
                          "    print('x' * 100_000)\n" + SOLVE_ENERGY}, "output limit"),
        "huge-file": (_probe(f"try:\n    open('big.bin', 'wb').write(b'0' * 200 * 1024**2)\n"
                             f"    print({LEAK_EXPR}, 'file size')\nexcept OSError:\n    pass\n"),
                      (2, 3)),
        # broken files: a clear report each
        "truncated": ('{"cells": [ trunc', "not valid JSON"),
        "binary": ("\udcff\x00\x01", "not"),
        "not-a-notebook": ('{"cells": 3}', "not a valid notebook"),
        "renamed": ("renamed", "notebook renamed"),
        "deleted-tests": ("delete", "missing"),
        "duplicated": ("duplicate", "appears 2 times"),
        "unknown-id": ("unknown", "unknown to the gradebook"),
    }
    if not strong:
        for name in ("kill-parent", "kill-all", "delete-up", "read-secrets", "network"):
            del cases[name]
    return cases


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def _leftovers() -> list[str]:
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if MARKER.encode() in (p / "cmdline").read_bytes():
                    found.append(p.name)
            except OSError:
                pass
    return found


@pytest.fixture
def listener():
    """A TCP server on the loopback: a sandboxed notebook must not reach it."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    hits = []

    def accept():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            hits.append(1)
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    yield srv.getsockname()[1], hits
    srv.close()


def _write_class(tmp: Path, subm: Path, cases: dict) -> None:
    root = tmp / "course"
    sol, blank = _load(root / "solutions" / LESSON / NB), _load(root / "lessons" / LESSON / NB)
    for who, (spec, _) in cases.items():
        dest = subm / who / LESSON / NB
        dest.parent.mkdir(parents=True)
        nb = None
        if spec == "sol":
            nb = sol
        elif spec == "blank":
            nb = blank
        elif isinstance(spec, dict):
            nb = _edit(blank, **spec)
        elif spec == "inflate":
            nb = _edit(blank, **_cheat(""))
            for c in nb["cells"]:
                if (c["metadata"].get("nbgrader") or {}).get("grade"):
                    c["metadata"]["nbgrader"]["points"] = 1000
        elif spec == "renamed":
            dest = dest.with_name("yy-grading (1).ipynb")
            nb = sol
        elif spec in ("delete", "duplicate", "unknown"):
            nb = copy.deepcopy(sol)
            i = [_gid(c) for c in nb["cells"]].index("ex-energy-tests")
            if spec == "delete":
                del nb["cells"][i]
            elif spec == "duplicate":
                nb["cells"].insert(i, copy.deepcopy(nb["cells"][i]))
                nb["cells"][i]["id"] = "dup"
            else:
                nb["cells"][i]["metadata"]["nbgrader"]["grade_id"] = "ex-mystery"
        if nb is not None:
            dest.write_text(json.dumps(nb, indent=1), "utf-8")
        else:
            dest.write_bytes(spec.encode("utf-8", "surrogateescape"))


def test_adversarial_corpus_in_one_grade_call(tmp_path, listener, monkeypatch):
    port, hits = listener
    monkeypatch.setenv("MIRKIT_TEST_SECRET", SECRET)
    shutil.copytree(COURSE, tmp_path / "course")
    subm = tmp_path / "submitted"
    isolation = sandbox.isolation_available()
    cases = _corpus(tmp_path, subm, port, strong=isolation == "bubblewrap")
    assert len([c for c in cases if c not in ("alice", "bob", "cathy")]) >= 20
    _write_class(tmp_path, subm, cases)
    course_before = _tree_digest(tmp_path / "course")
    out = tmp_path / "out"
    argv = ["grade", str(subm), "--root", str(tmp_path / "course"), "--out", str(out),
            "--jobs", "2", "--memory-mb", "1024", "--cpu-seconds", "15"]
    old_limits = sandbox.Limits()
    monkeypatch.setattr(sandbox, "Limits", lambda **kw: old_limits.__class__(
        **{"output_mb": 2, "file_mb": 32, "processes": 48, "wall_seconds": 300, **kw}))
    assert cli.main(argv) == 1  # some submissions have problems

    with open(out / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    report = (out / "grading-report.txt").read_text("utf-8")
    assert report.startswith(f"isolation: {isolation}")
    for who, (_, expected) in cases.items():
        row = rows[who]
        if isinstance(expected, tuple):
            got = (row["ex-scale-tests"], row["ex-energy-tests"], row["max"])
            assert got == (f"{expected[0]}", f"{expected[1]}", "5"), (who, row)
        else:
            assert expected in row["status"], (who, row["status"])
            assert f"{who}/{LESSON}" in row["status"], who
    # the report lists every problem by student
    assert "exit-kernel/yy-grading: graded, with a problem 2/5" in report
    assert "truncated/yy-grading: NOT GRADED" in report

    # nothing leaked, into outputs or feedback; no connection reached the loopback server
    for who in cases:
        for f in [*(out / "autograded" / who).rglob("*.ipynb"),
                  *(out / "feedback" / who).rglob("*.html")]:
            text = f.read_text("utf-8")
            assert LEAK not in text, (who, f)
            assert SECRET not in text, (who, f)
    if isolation == "bubblewrap":
        assert hits == []
    # feedback names the failed hidden test and its message, never its code
    html = (out / "feedback" / "cathy" / LESSON / f"{LESSON}.html").read_text("utf-8")
    assert "energy is wrong on a random x" in html
    assert "sum(v * v for v in _x)" not in html and "default_rng(8)" not in html
    assert "hidden tests: run when graded" in html
    assert "default_rng(8)" in (out / "autograded" / "cathy" / LESSON / NB).read_text("utf-8")

    assert _tree_digest(tmp_path / "course") == course_before
    assert _leftovers() == []
    with sqlite3.connect(out / "gradebook.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        graded = {r[0] for r in con.execute("SELECT student.id FROM submitted_assignment "
                                            "JOIN student ON student_id = student.id")}
    assert graded == {w for w, r in rows.items() if r["status"].startswith("graded")}
