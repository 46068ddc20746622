"""The generated presets, made once per machine and shared by every lesson (lessons 04-12).

``preset_path("small")`` returns the folder of the ``small`` preset (seed 0), generating it the
first time (about a minute on 2 cores, with a progress bar). Lessons call it in their setup
cell, so a student never has to run a command first::

    from mirkit.datasets import load_dataset, preset_path
    ds = load_dataset(preset_path("small"))

Where the presets live: ``$MIRKIT_DATA`` if set (the grader points it at a read-only copy),
else the ``datasets/`` folder of the repository this package was installed from (``make
setup`` installs it in editable mode), else ``~/.cache/mirkit``. A preset folder is
``<root>/synth-<preset>-seed<seed>-v<DATASET_VERSION>``: a new version of the generator gets a
new folder, so a stale copy is never read.

Generation is safe when two notebooks ask at once (the course check runs the solution and the
student version in parallel): one process generates under a lock, into a temporary folder that
is renamed into place only when complete, and the others wait for it. An interrupted run leaves
no half-made preset behind.
"""
from __future__ import annotations

import fcntl
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

DATA_ENV = "MIRKIT_DATA"
# Bump when the generator's output changes (music, production, splits, annotations).
DATASET_VERSION = 4
_COMPLETE = ".complete"


def data_root() -> Path:
    """Where presets are kept (see the module docstring)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[2]
    if (repo / "datasets").is_dir() and (repo / "mirkit").is_dir():
        return repo / "datasets"
    return Path.home() / ".cache" / "mirkit"


def preset_folder(preset: str = "small", seed: int = 0, root: str | os.PathLike | None = None) -> Path:
    """The folder a preset lives in, whether or not it exists yet."""
    root = Path(root) if root is not None else data_root()
    return root / f"synth-{preset}-seed{seed}-v{DATASET_VERSION}"


def _wait_for(lock, folder: Path) -> None:
    """Take the generation lock; the others wait here (and say so) while one process generates."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting: another process is generating {folder} ...", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)


def preset_path(preset: str = "small", seed: int = 0, root: str | os.PathLike | None = None,
                n_jobs: int | None = None) -> Path:
    """The folder of a generated preset, generated first if it is not there yet.

    preset: "tiny", "small" or "full"; seed: the dataset seed (same seed, same files).
    Raises a clear error when the folder cannot be created (e.g. a read-only ``MIRKIT_DATA``
    without the preset in it).
    """
    from .synth import generate, preset as check_preset

    check_preset(preset)
    folder = preset_folder(preset, seed, root)
    if (folder / _COMPLETE).exists():
        return folder
    if _called_while_a_worker_imports_main():
        raise RuntimeError(
            f"preset_path({preset!r}) was called at the top level of a script that a worker process "
            "is importing again (multiprocessing's 'spawn' start method runs the main script anew in "
            "every worker, and the generator's workers are spawned): the worker would wait forever "
            "for the preset its parent is generating. Put the script's code under "
            "`if __name__ == \"__main__\":`, or generate the preset first.")
    how = (f"`python -m mirkit.datasets synth --preset {preset} --seed {seed} --out DIR`, then set "
           f"{DATA_ENV} to DIR's parent, or unset {DATA_ENV}")
    return build_once(folder, lambda tmp: generate(tmp, preset, seed, n_jobs),
                      f"the {preset!r} preset (seed {seed})", how)


def build_once(folder: Path, make, what: str, how: str = "") -> Path:
    """``folder``, made by ``make(tmp)`` the first time, once per machine, whoever asks at once.

    One process makes it, under a lock file next to it, into a temporary folder renamed into
    place only when complete (marked by a ``.complete`` file); the others wait, then reuse it.
    what: names the thing in messages; how: how to make it by hand if ``folder`` is not writable.
    """
    folder = Path(folder)
    if (folder / _COMPLETE).exists():
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock = open(folder.parent / f".{folder.name}.lock", "w")
    except OSError as exc:
        raise RuntimeError(f"{what} is not at {folder} and that folder cannot be created ({exc})"
                           + (f". Make it where you can write: {how}." if how else ".")) from exc
    with lock:
        _wait_for(lock, folder)
        if (folder / _COMPLETE).exists():
            return folder
        if folder.exists():  # left by an older layout or a crash before the rename: remake it
            shutil.rmtree(folder)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            print(f"Generating {what} once in {folder} ...", flush=True)
            make(tmp)
            (tmp / _COMPLETE).write_text(f"{what}, dataset version {DATASET_VERSION}\n")
            os.chmod(tmp, 0o755)  # mkdtemp makes it 0700: the grader's sandbox user must read it
            try:
                os.replace(tmp, folder)
            except OSError:  # made meanwhile by a process that did not take the lock (a CLI run)
                if not (folder / _COMPLETE).exists():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _called_while_a_worker_imports_main():
    """True in a spawned worker that is still importing its parent's main script.

    multiprocessing sets ``_inheriting`` on the current process while a spawned child prepares
    itself (it is what makes ``Process.start()`` refuse to run during that phase).
    """
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))
