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
