"""Ground truth the synthetic set gets for free: chords and instruments.

Used by ``lessons/11-chords-hmm`` (chord recognition, scored with ``mir_eval``) and
``lessons/09-keras`` (multilabel tagging).

The generator knows what it played, so every synthetic track comes with

- its **chords**, ``annotations/chords/<track_id>.lab``: one line ``start end label`` per chord
  (seconds, the usual ``.lab`` format read by ``mir_eval.io.load_labeled_intervals``), labels in
  Harte syntax restricted to major and minor triads plus ``N`` (no chord): a G7 is written
  ``G:maj``, a Dm9 ``D:min``. The times are those of the rendered audio: the production chain
  (EQ, compression, reverb, noise, loudness) does not move anything in time.
- its **instruments**, the ``instruments`` column of ``manifest.csv``: which families of
  :data:`INSTRUMENTS` play at least one note in the clip, ``;``-separated. Each artist picks
  its instruments from its genre's habits (and sometimes a neighbour's), so the tags vary
  within a genre: a multilabel target that is not just the genre again.

Read them with :func:`read_chords` and :func:`instrument_tags`.
"""
from pathlib import Path

import numpy as np

# the chord recogniser's pitch names: annotations and estimates share one vocabulary
from mirkit.chords import PITCH_CLASSES as NOTE_NAMES

# every chord quality the genres use -> its triad (by its third: major or minor); the
# half-diminished m7b5 and dim keep their minor third
TRIAD = {"maj": "maj", "6": "maj", "7": "maj", "maj7": "maj", "9": "maj", "maj9": "maj", "13": "maj",
         "sus4": "maj", "5": "maj", "min": "min", "m7": "min", "m9": "min", "m7b5": "min", "dim": "min"}
NO_CHORD = "N"

# instrument families (General MIDI program ranges), in this order in the tag matrix
INSTRUMENTS = ("piano", "mallets", "organ", "guitar", "bass", "strings", "voice", "brass", "winds",
               "synth", "drums")
_FAMILY_RANGES = (
    (0, 8, "piano"), (8, 16, "mallets"), (16, 21, "organ"), (21, 24, "winds"),  # accordion, harmonica
    (24, 32, "guitar"), (32, 40, "bass"), (40, 52, "strings"), (52, 55, "voice"), (55, 56, "strings"),
    (56, 64, "brass"), (64, 80, "winds"), (80, 104, "synth"), (104, 108, "guitar"),  # sitar, banjo...
    (108, 109, "mallets"), (109, 110, "winds"), (110, 111, "strings"), (111, 112, "winds"),
    (112, 120, "drums"),
)


def chord_label(root_pc, quality):
    """Harte label of a chord: ``chord_label(7, "7") == "G:maj"``, ``chord_label(2, "m9") == "D:min"``."""
    if quality not in TRIAD:
        raise ValueError(f"unknown chord quality {quality!r}; known: {sorted(TRIAD)}")
    return f"{NOTE_NAMES[int(root_pc) % 12]}:{TRIAD[quality]}"


def chord_segments(score, duration):
    """``score.chords`` (beats) -> merged ``[(start_s, end_s, label)]`` covering [0, duration] seconds."""
    segments = []
    for b0, b1, root_pc, quality in score.chords:
        t0, t1 = float(score.seconds(b0)), min(float(score.seconds(b1)), duration)
        if t0 >= duration:
            break
        label = chord_label(root_pc, quality)
        if segments and segments[-1][2] == label:
            segments[-1] = (segments[-1][0], t1, label)  # a chord held over several bars: one segment
        else:
            segments.append((t0, t1, label))
    if not segments or segments[-1][1] < duration:
        segments.append((segments[-1][1] if segments else 0.0, float(duration), NO_CHORD))
    return segments


def instrument_family(program, is_drum=False):
    """The family of :data:`INSTRUMENTS` of a General MIDI program (0-127), or None (sound effects)."""
    if is_drum:
        return "drums"
    for lo, hi, name in _FAMILY_RANGES:
        if lo <= program < hi:
            return name
    return None


def instruments_present(pm, duration):
    """Families with at least one note starting in [0, duration) in a PrettyMIDI object, in vocabulary order."""
    found = {instrument_family(inst.program, inst.is_drum) for inst in pm.instruments
             if any(n.start < duration for n in inst.notes)}
    return [name for name in INSTRUMENTS if name in found]


def write_lab(path, segments):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{t0:.4f}\t{t1:.4f}\t{label}\n" for t0, t1, label in segments))


def read_chords(root_or_dataset, track_id):
    """The chords of one synthetic track: ``(intervals, labels)``.

    intervals: float array (n, 2), start and end in seconds; labels: list of n Harte labels
    (``"C:maj"``, ``"A:min"``, ``"N"``), as ``mir_eval.chord`` expects. ``root_or_dataset`` is a
    dataset folder or a :class:`~mirkit.datasets.Dataset`.
    """
    from .loaders import Dataset, DatasetError

    root = Path(root_or_dataset.root if isinstance(root_or_dataset, Dataset) else root_or_dataset)
    if isinstance(root_or_dataset, Dataset) and track_id not in root_or_dataset.ids:
        raise DatasetError(f"track {track_id!r} is not in this dataset (ids look like "
                           f"{root_or_dataset.ids[0]!r}; see ds.ids)")
    path = root / "annotations" / "chords" / f"{track_id}.lab"
    if not path.exists():
        folder = root / "annotations" / "chords"
        why = (f"{folder} does not exist: chord annotations come only with synthetic datasets made "
               "by this version of mirkit (use preset_path(...) or `python -m mirkit.datasets synth`)"
               if not folder.is_dir() else f"no such track in {folder} (ids look like 'jazz.00003')")
        raise DatasetError(f"no chord annotation for track {track_id!r} at {path}: {why}")
    intervals, labels = [], []
    for k, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3:
            raise DatasetError(f"{path}, line {k}: expected 'start end label', got {line!r}")
        intervals.append((float(parts[0]), float(parts[1])))
        labels.append(parts[2])
    return np.array(intervals, dtype=float).reshape(-1, 2), labels


def instrument_tags(ds):
    """Instrument tags of a synthetic dataset: ``(tag_names, Y)``.

    tag_names: the list :data:`INSTRUMENTS`; Y: float array (len(ds), len(tag_names)) of 0/1,
    ``Y[i, k] = 1`` when an instrument of family ``tag_names[k]`` plays in track ``ds.ids[i]``.
    A family may be absent from a small subset: drop all-zero columns before computing a
    per-tag ROC-AUC.
    """
    from .loaders import DatasetError

    missing = [t.track_id for t in ds.tracks if t.instruments is None]
    if missing:
        raise DatasetError(f"{len(missing)} track(s) of {ds.root} have no instrument tags (first: "
                           f"{missing[:3]}): tags come with synthetic datasets made by this version of "
                           "mirkit (the 'instruments' column of manifest.csv); regenerate the dataset "
                           "with preset_path(...) or `python -m mirkit.datasets synth`")
    Y = np.zeros((len(ds), len(INSTRUMENTS)))
    for i, t in enumerate(ds.tracks):
        for name in t.instruments:
            if name not in INSTRUMENTS:
                raise DatasetError(f"track {t.track_id}: unknown instrument tag {name!r} in manifest.csv; "
                                   f"known: {INSTRUMENTS}")
            Y[i, INSTRUMENTS.index(name)] = 1.0
    return list(INSTRUMENTS), Y
