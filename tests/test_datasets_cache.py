"""The shared preset cache: generated once, atomically, safe under concurrent callers."""
import multiprocessing as mp

import pytest

from mirkit.datasets import cache, load_dataset


def _ask(root, q):
    q.put(str(cache.preset_path("tiny", seed=3, root=root, n_jobs=1)))


def test_two_processes_get_one_complete_preset(tmp_path):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_ask, args=(tmp_path, q)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    paths = {q.get(timeout=5) for _ in procs}
    assert paths == {str(cache.preset_folder("tiny", 3, tmp_path))}
    ds = load_dataset(paths.pop())
    assert len(ds) == 60
    leftovers = [p.name for p in tmp_path.iterdir() if p.is_dir() and p.name.startswith(".")]
    assert leftovers == [], f"temporary folders left behind: {leftovers}"


def test_env_var_sets_the_root(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.DATA_ENV, str(tmp_path))
    assert cache.data_root() == tmp_path
    assert cache.preset_folder("small", 0).parent == tmp_path


def test_unknown_preset_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown preset"):
        cache.preset_path("huge", root=tmp_path)


def test_unwritable_root_says_how_to_fix(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "file").write_text("x")
    with pytest.raises(RuntimeError, match="python -m mirkit.datasets synth"):
        cache.preset_path("tiny", root=ro / "file" / "sub")  # a file in the path: cannot mkdir


def test_a_script_without_main_guard_gets_an_error_not_a_deadlock(tmp_path):
    """Spawned workers import the main script again; were they to call preset_path at its top
    level, they would wait for the lock their parent holds, forever."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text("from mirkit.datasets import preset_path\n"
                      f"print(preset_path('tiny', seed=5, root={str(tmp_path)!r}, n_jobs=2))\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180)
    assert run.returncode != 0
    assert "__main__" in run.stderr and "worker" in run.stderr
    assert not (cache.preset_folder("tiny", 5, tmp_path) / ".complete").exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.is_dir() and p.name.startswith(".")]
    assert leftovers == []


def test_a_worker_rerunning_an_unguarded_script_gets_an_error_not_a_deadlock(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        import fcntl, multiprocessing as mp
        from mirkit.datasets import cache
        folder = cache.preset_folder("tiny", 5, {str(tmp_path)!r})
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock = open(folder.parent / f".{{folder.name}}.lock", "w")
        if __name__ == "__main__":
            fcntl.flock(lock, fcntl.LOCK_EX)  # the parent "generates" and starts a worker
            ctx = mp.get_context("spawn")
            p = ctx.Process(target=print)
            p.start(); p.join(120)
            print("worker exit", p.exitcode)
        else:  # the worker re-running this script as __mp_main__: what an unguarded script does
            cache.preset_path("tiny", 5, root={str(tmp_path)!r})
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=200)
    assert "worker exit 1" in out.stdout, out.stdout + out.stderr
    assert "__main__" in out.stderr
