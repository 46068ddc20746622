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
import os
import shutil
import tempfile
from pathlib import Path

DATA_ENV = "MIRKIT_DATA"
# Bump when the generator's output changes (music, production, splits, annotations).
DATASET_VERSION = 1
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
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        lock = open(folder.parent / f".{folder.name}.lock", "w")
    except OSError as exc:
        raise RuntimeError(
            f"the {preset!r} preset (seed {seed}) is not at {folder} and that folder cannot be "
            f"created ({exc}). Generate it where you can write: "
            f"`python -m mirkit.datasets synth --preset {preset} --seed {seed} --out DIR`, "
            f"then set {DATA_ENV} to DIR's parent, or unset {DATA_ENV}.") from exc
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait here while one process generates
        if (folder / _COMPLETE).exists():
            return folder
        if folder.exists():  # left by an older layout or a crash before the rename: remake it
            shutil.rmtree(folder)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            print(f"Generating the {preset!r} preset (seed {seed}) once in {folder} ...", flush=True)
            generate(tmp, preset, seed, n_jobs)
            (tmp / _COMPLETE).write_text(f"preset={preset} seed={seed} version={DATASET_VERSION}\n")
            os.replace(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return folder
