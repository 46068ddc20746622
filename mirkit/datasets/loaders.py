"""One Dataset API for the synthetic set, real GTZAN, FMA/Kaggle-style folders and folder-per-class.

    ds = load_dataset("datasets/synth-gtzan")           # layout detected automatically
    ds = load_dataset("/data/gtzan", layout="gtzan")     # real GTZAN
    y, label = ds[0]                                     # audio loaded only now: (T,) float32, mono, ds.sr
    train = ds.subset("train", split="artist")           # artist-disjoint split (or "random", "filtered")
    X = ds.features(mfcc_stats, n_mfcc=20)               # computed once, then read from the disk cache

Audio is read lazily, mixed to mono and resampled to ``sr`` (22050 Hz unless told otherwise).
"""
import csv
import functools
import hashlib
import inspect
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .genres import GENRES

AUDIO_EXTS = (".wav", ".au", ".mp3", ".ogg", ".flac")
# known broken files of real GTZAN (Sturm 2012): jazz.00054 cannot be decoded
GTZAN_UNREADABLE = ("jazz.00054",)
ID_COLUMNS = ("track_id", "track", "id", "filename", "file", "fname")
LABEL_COLUMNS = ("genre", "genre_top", "label", "genre_id", "class")

EXPECTED_LAYOUTS = """Expected one of these layouts:
  synth     <root>/manifest.csv + genres/<genre>/<genre>.000NN.wav   (python -m mirkit.datasets synth ...)
  gtzan     <root>/genres/<genre>/<genre>.000NN.wav or .au  (optional train/valid/test_filtered.txt)
  csv       <root>/<labels>.csv with columns track_id,genre  + audio files (MP3/WAV/OGG) anywhere
            under <root> whose names are the track ids (Kaggle-style; FMA: 000002.mp3 for id 2)
  folders   <root>/<class>/<any name>.wav|.mp3|.ogg|.flac|.au   (one folder per class)"""


class DatasetError(ValueError):
    """A dataset folder or file that cannot be used; the message names it and says what is expected."""


@dataclass
class Track:
    track_id: str
    path: Path
    label: str
    artist: str = None
    splits: dict = field(default_factory=dict)  # split name -> "train" / "valid" / "test"
    instruments: tuple = None  # instrument families heard (synthetic sets only), see .annotations


def read_audio(path, sr=22050, duration=None, offset=0.0):
    """Read ``path`` as float32 mono at ``sr`` Hz, shape (T,). Errors name the file."""
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise DatasetError(f"audio file not found: {path}")
    try:
        with sf.SoundFile(str(path)) as f:
            native = f.samplerate
            f.seek(int(offset * native))
            frames = -1 if duration is None else int(round(duration * native))
            y = f.read(frames, dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile could not decode it: try librosa's other back ends
        try:
            import librosa

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y, native = librosa.load(str(path), sr=None, mono=False, offset=offset, duration=duration)
            y = np.atleast_2d(y).T
        except Exception:
            raise DatasetError(f"cannot read audio file {path}: {exc}. Is it a complete, uncorrupted "
                               f"{path.suffix or 'audio'} file? Delete or replace it.") from exc
    if y.size == 0:
        raise DatasetError(f"audio file {path} is empty (no samples)")
    y = y.mean(axis=1)
    if native != sr:
        import librosa

        y = librosa.resample(y, orig_sr=native, target_sr=sr)
    return np.ascontiguousarray(y, dtype=np.float32)


class Dataset:
    """A labelled list of tracks read lazily. ``ds[i]`` -> (waveform (T,), class index)."""

    def __init__(self, tracks, root, layout, sr=22050, duration=None, classes=None):
        if not tracks:
            raise DatasetError(f"no audio files found in {root}\n{EXPECTED_LAYOUTS}")
        self.tracks, self.root, self.layout = list(tracks), Path(root), layout
        self.sr, self.duration = sr, duration
        self.classes = list(classes) if classes is not None else sorted({t.label for t in tracks})

    def __len__(self):
        return len(self.tracks)

    def __getitem__(self, i):
        return self.load(i), self.classes.index(self.tracks[i].label)

    def __repr__(self):
        return (f"Dataset({self.layout!r}, {len(self)} tracks, {len(self.classes)} classes, "
                f"sr={self.sr}, root={str(self.root)!r})")

    def load(self, i):
        return read_audio(self.tracks[i].path, self.sr, self.duration)

    @property
    def ids(self):
        return [t.track_id for t in self.tracks]

    @property
    def labels(self):
        """Class indices, shape (N,)."""
        return np.array([self.classes.index(t.label) for t in self.tracks])

    @property
    def artists(self):
        return [t.artist for t in self.tracks]

    @property
    def split_names(self):
        return sorted({s for t in self.tracks for s in t.splits})

    def subset(self, part, split="artist"):
        """The tracks of one part ("train", "valid", "test") of a split ("artist", "random", "filtered")."""
        if split not in self.split_names:
            raise DatasetError(f"no split {split!r} in {self.root}; available: {self.split_names or 'none'}. "
                               "Make one with mirkit.datasets.synth.artist_split or random_split.")
        keep = [t for t in self.tracks if t.splits.get(split) == part]
        return Dataset(keep, self.root, self.layout, self.sr, self.duration, self.classes)

    def features(self, extractor, cache="datasets/cache", n_jobs=1, progress=True, **params):
        """``extractor(y, sr, **params)`` for every track, stacked into an array of shape (N, ...).

        Results are cached on disk under ``cache/<key>/`` where the key hashes the extractor's
        name and source code, ``params``, ``sr`` and ``duration``: edit the extractor or change
        a parameter and the features are recomputed; a file that changed (size or modification
        time) is recomputed too. ``cache=None`` turns caching off.
        """
        name, source = _describe(extractor)
        key = _hash(dict(fn=name, source=source, params=params, sr=self.sr, duration=self.duration))
        folder = None
        if cache is not None:
            folder = Path(cache) / key
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "params.json").write_text(json.dumps(
                dict(fn=name, params=params, sr=self.sr, duration=self.duration), default=str, indent=1))
        jobs = [(t.path, folder, extractor, params, self.sr, self.duration) for t in self.tracks]
        from tqdm.auto import tqdm

        if n_jobs == 1:
            out = [_feature_job(j) for j in tqdm(jobs, desc="features", disable=not progress)]
        else:
            from joblib import Parallel, delayed

            out = Parallel(n_jobs=n_jobs)(delayed(_feature_job)(j)
                                          for j in tqdm(jobs, desc="features", disable=not progress))
        shapes = sorted({v.shape for v in out})
        if len(shapes) > 1:
            raise DatasetError(f"the extractor returned arrays of different shapes {shapes[:4]}, which "
                               "cannot be stacked into one array: make its output size fixed (e.g. "
                               "summarise over time with a mean) or load clips of one length with "
                               "load_dataset(..., duration=SECONDS)")
        return np.stack(out)


def _describe(extractor):
    """(name, hash of the source code) of a feature extractor, for the cache key.

    Hashing the source means that editing a function in a notebook invalidates its cache, and
    that two lambdas (both named "<lambda>") do not share one.
    """
    if isinstance(extractor, functools.partial):
        name, source = _describe(extractor.func)
        return f"partial({name}, {extractor.args!r}, {extractor.keywords!r})", source
    name = (f"{getattr(extractor, '__module__', None)}."
            f"{getattr(extractor, '__qualname__', type(extractor).__qualname__)}")
    try:
        source = inspect.getsource(extractor)
    except (OSError, TypeError):  # built-in, or defined where the source is not kept
        return name, None
    return name, hashlib.sha1(source.encode()).hexdigest()[:16]


def _hash(obj):
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _feature_job(job):
    path, folder, extractor, params, sr, duration = job
    if folder is not None:
        st = os.stat(path)
        entry = folder / f"{_hash([str(Path(path).resolve()), st.st_size, st.st_mtime_ns])}.npy"
        if entry.exists():
            try:
                return np.load(entry)
            except (OSError, ValueError, EOFError):  # a damaged entry: compute it again
                pass
    value = np.asarray(extractor(read_audio(path, sr, duration), sr, **params))
    if folder is not None:
        # write then rename, so that an interrupted run never leaves a truncated entry behind
        tmp = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, value)
        os.replace(tmp, entry)
    return value


# ------------------------------------------------------------------ layouts


def _audio_files(folder, recursive=False):
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.is_file() and p.suffix.lower() in AUDIO_EXTS)


def _scan_synth(root):
    tracks = []
    with open(root / "manifest.csv", newline="") as f:
        for row in csv.DictReader(f):
            splits = {"artist": row.get("split"), "random": row.get("random_split")}
            inst = row.get("instruments")
            tracks.append(Track(row["track_id"], root / row["path"], row["genre"], row.get("artist"),
                                {k: v for k, v in splits.items() if v},
                                None if inst is None else tuple(x for x in inst.split(";") if x)))
    return tracks, [g for g in GENRES if any(t.label == g for t in tracks)]


def _scan_gtzan(root):
    base = root / "genres" if (root / "genres").is_dir() else root
    tracks = []
    for genre_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        for path in _audio_files(genre_dir):
            if path.stem in GTZAN_UNREADABLE and not _readable(path):
                warnings.warn(f"skipping {path}: {path.stem} is a known unreadable file of GTZAN", stacklevel=3)
                continue
            tracks.append(Track(path.stem, path, genre_dir.name))
    # the fault-filtered artist-disjoint split (Kereliuk, Sturm & Larsen 2015), if provided
    for folder in (root, base, root.parent):
        files = {part: folder / f"{part}_filtered.txt" for part in ("train", "valid", "test")}
        if all(f.exists() for f in files.values()):
            by_id = {t.track_id: t for t in tracks}
            for part, f in files.items():
                for line in f.read_text().split():
                    tid = Path(line.strip()).stem
                    if tid in by_id:
                        by_id[tid].splits["filtered"] = part
            break
    return tracks, sorted({t.label for t in tracks})


def _readable(path):
    import soundfile as sf

    try:
        sf.info(str(path))
        return True
    except Exception:
        return False


def _find_csv(root):
    for path in sorted(root.glob("*.csv")):
        with open(path, newline="") as f:
            header = [h.strip().lower() for h in next(csv.reader(f), [])]
        id_col = next((c for c in ID_COLUMNS if c in header), None)
        label_col = next((c for c in LABEL_COLUMNS if c in header), None)
        if id_col and label_col:
            return path, id_col, label_col
    return None


def _norm_id(s):
    """A track id as written in a CSV or a file name -> a comparable key ("000002.mp3" and "2" -> "2")."""
    s = str(s).strip()
    if s.lower().endswith(AUDIO_EXTS):
        s = Path(s).stem
    return (s.lstrip("0") or "0") if s.isdigit() else s


def _scan_csv(root, found):
    path, id_col, label_col = found
    files = {_norm_id(p.stem): p for p in _audio_files(root, recursive=True)}
    tracks, missing = [], []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        reader.fieldnames = [h.strip().lower() for h in reader.fieldnames]
        for row in reader:
            tid, label = row[id_col].strip(), row[label_col].strip()
            if not label:
                continue  # unlabelled rows (e.g. a test set's) are not part of a labelled dataset
            audio = files.get(_norm_id(tid))
            if audio is None:
                missing.append(tid)
                continue
            tracks.append(Track(Path(tid).stem if "." in tid else tid, audio, label))
    if missing:
        warnings.warn(f"{len(missing)} track(s) listed in {path} have no audio file under {root} "
                      f"(first: {missing[:3]}); they are left out", stacklevel=3)
    return tracks, sorted({t.label for t in tracks})


def _scan_folders(root):
    tracks = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in _audio_files(class_dir):
            tracks.append(Track(path.stem, path, class_dir.name))
    return tracks, sorted({t.label for t in tracks})


def detect_layout(root):
    """Guess the layout of ``root``: "synth", "gtzan", "csv" or "folders" (see EXPECTED_LAYOUTS)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}\n{EXPECTED_LAYOUTS}")
    if (root / "manifest.csv").exists():
        return "synth"
    if (root / "genres").is_dir():
        return "gtzan"
    if _find_csv(root):
        return "csv"
    subdirs = [p for p in root.iterdir() if p.is_dir() and _audio_files(p)]
    if subdirs:
        return "gtzan" if {p.name for p in subdirs} <= set(GENRES) else "folders"
    raise DatasetError(f"cannot recognise the dataset layout of {root}\n{EXPECTED_LAYOUTS}")


def load_dataset(root, layout="auto", sr=22050, duration=None):
    """Index the dataset at ``root`` (nothing is read yet) and return a :class:`Dataset`."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}\n{EXPECTED_LAYOUTS}")
    layout = detect_layout(root) if layout == "auto" else layout
    if layout == "synth":
        tracks, classes = _scan_synth(root)
    elif layout == "gtzan":
        tracks, classes = _scan_gtzan(root)
    elif layout == "csv":
        found = _find_csv(root)
        if not found:
            raise DatasetError(f"no CSV with an id column {ID_COLUMNS} and a label column {LABEL_COLUMNS} "
                               f"in {root}\n{EXPECTED_LAYOUTS}")
        tracks, classes = _scan_csv(root, found)
    elif layout == "folders":
        tracks, classes = _scan_folders(root)
    else:
        raise DatasetError(f"unknown layout {layout!r}; use 'auto', 'synth', 'gtzan', 'csv' or 'folders'")
    return Dataset(tracks, root, layout, sr, duration, classes)
