"""mirkit.datasets: a GTZAN-style dataset made offline, with artists, and loaders for real data.

Generate (see ``python -m mirkit.datasets --help``)::

    python -m mirkit.datasets synth --preset small --out datasets/synth-gtzan-small --seed 0

Load anything (synthetic, real GTZAN, FMA/Kaggle-style CSV + MP3 folders, folder-per-class)::

    from mirkit.datasets import load_dataset
    ds = load_dataset("datasets/synth-gtzan-small")
    train, test = ds.subset("train"), ds.subset("test")      # artist-disjoint split (lessons/07-classical-mir)

Ground truth that comes for free with the synthetic set::

    intervals, labels = read_chords(ds, "jazz.00003")       # (n, 2) seconds, ["D:min", "G:maj", ...]
    tag_names, Y = instrument_tags(ds)                       # (n_tracks, n_tags) 0/1, rows as ds.ids

Modules: :mod:`.genres` (the ten genre generators and artists), :mod:`.music` (chords, scales,
swing), :mod:`.render` (General MIDI -> audio with TinySoundFont), :mod:`.production` (each
artist's studio, via :mod:`mirkit.augment`), :mod:`.synth` (presets, splits, hidden test set),
:mod:`.loaders` (the Dataset API and its disk cache), :mod:`.cache` (``preset_path``: the
presets every lesson shares, generated once per machine), :mod:`.annotations` (chords and
instrument tags).
"""
from .annotations import INSTRUMENTS, instrument_tags, read_chords
from .cache import DATASET_VERSION, data_root, preset_folder, preset_path
from .genres import GENRES
from .loaders import EXPECTED_LAYOUTS, Dataset, DatasetError, detect_layout, load_dataset, read_audio
from .synth import (PRESETS, artist_split, generate, generate_hidden_test, random_split,
                    synthesize_track)
