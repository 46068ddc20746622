"""mirkit.datasets: the synthetic GTZAN (tiny preset), determinism, splits, hidden test set, CLI."""
import csv
from collections import Counter

import numpy as np
import pytest
import soundfile as sf

from mirkit.datasets import (GENRES, INSTRUMENTS, DatasetError, generate, generate_hidden_test, instrument_tags,
                             load_dataset, read_chords, synthesize_track)
from mirkit.datasets import annotations as A
from mirkit.datasets import genres as G
from mirkit.datasets.__main__ import main as cli

pytestmark = pytest.mark.xdist_group("datasets")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth-tiny")
    rows = generate(out, "tiny", seed=0, n_jobs=1)
    return out, rows


def test_tiny_preset_has_gtzan_layout(tiny):
    out, rows = tiny
    assert len(rows) == 60
    assert Counter(r["genre"] for r in rows) == {g: 6 for g in GENRES}
    for g in GENRES:
        files = sorted((out / "genres" / g).glob("*.wav"))
        assert [f.name for f in files] == [f"{g}.{i:05d}.wav" for i in range(6)]
    info = sf.info(str(out / "genres" / "jazz" / "jazz.00003.wav"))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (22050, 1, "PCM_16", 3 * 22050)
    with open(out / "manifest.csv") as f:
        header = next(csv.reader(f))
    assert header == ["track_id", "path", "genre", "artist", "duration", "seed", "split", "random_split",
                      "instruments"]
    assert (out / "artists.json").exists()


def test_audio_is_not_silent_and_in_range(tiny):
    out, rows = tiny
    for r in rows[::7]:
        y, _ = sf.read(str(out / r["path"]))
        assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 1.0
        assert 10 * np.log10(np.mean(y ** 2)) > -45, r["track_id"]


def test_artist_split_is_artist_disjoint_and_random_split_leaks(tiny):
    out, rows = tiny
    parts_of = {}
    for r in rows:
        parts_of.setdefault(r["artist"], set()).add(r["split"])
    assert all(len(p) == 1 for p in parts_of.values())
    assert Counter(r["split"] for r in rows).keys() == {"train", "valid", "test"}
    leaks = {}
    for r in rows:
        leaks.setdefault(r["artist"], set()).add(r["random_split"])
    assert any(len(p) > 1 for p in leaks.values())
    # split files: one track id per line, matching the manifest
    for name, col in (("artist", "split"), ("random", "random_split")):
        for part in ("train", "valid", "test"):
            ids = (out / "splits" / name / f"{part}.txt").read_text().split()
            assert ids == [r["track_id"] for r in rows if r[col] == part]


def test_same_seed_same_audio(tiny):
    out, rows = tiny
    import json

    artists = json.loads((out / "artists.json").read_text())
    r = rows[13]
    again = synthesize_track(artists[r["artist"]], int(r["seed"]), 3.0)
    on_disk, _ = sf.read(str(out / r["path"]))
    assert np.max(np.abs(again - on_disk)) <= 1.5 / 32768  # equal up to 16-bit rounding
    assert np.array_equal(again, synthesize_track(artists[r["artist"]], int(r["seed"]), 3.0))
    other = synthesize_track(artists[r["artist"]], int(r["seed"]) + 1, 3.0)
    assert not np.allclose(other, again)


def test_plan_does_not_depend_on_anything_but_the_seed():
    from mirkit.datasets.synth import plan, preset

    a, b = plan(5, preset("tiny")), plan(5, preset("tiny"))
    assert [t["seed"] for t in a] == [t["seed"] for t in b] and a[0]["artist"] == b[0]["artist"]
    c = plan(6, preset("tiny"))
    assert [t["seed"] for t in a] != [t["seed"] for t in c]


def test_every_genre_style_composes_notes():
    rng = np.random.default_rng(0)
    drummers = Counter()
    for genre in GENRES:
        for k in range(8):
            artist = G.draw_artist(genre, f"{genre}_{k}", rng)
            score = G.arrange(artist, rng, 8.0)
            assert all(p["notes"] for name, p in score.parts.items() if name not in ("lead",)), (genre, artist)
            drummers[genre] += "drums" in score.parts
            pm = score.to_midi()
            assert pm.get_end_time() >= 8.0
    assert drummers["classical"] < drummers["rock"]


def test_genre_habits_are_musical():
    # the 12-bar blues has dominant sevenths on I, IV and V
    blues = G.PROGRESSIONS["blues12"]
    assert len(blues) == 12 and {q for _, q in blues} == {"7"} and {d for d, _ in blues} == {0, 5, 7}
    # disco: kick on every beat, open hi-hat on the off-beats
    assert G.DRUMS["disco"][36] == "X...X...X...X..." and G.DRUMS["disco"][46] == "..x...x...x...x."
    # reggae one-drop: kick and rim together on beat 3 only
    assert G.DRUMS["one_drop"][36] == G.DRUMS["one_drop"][37] == "........X......."


def test_unknown_genre_and_preset_errors():
    with pytest.raises(ValueError, match="unknown genre"):
        G.draw_artist("polka", "x", np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown preset"):
        generate("/tmp/never", "huge")


def test_hidden_test_set(tmp_path):
    out, labels = tmp_path / "challenge", tmp_path / "private" / "labels.csv"
    rows = generate_hidden_test(out, labels, "tiny", secret_seed=1234, n_jobs=1, tracks=1, duration=1.0)
    files = sorted(p.name for p in (out / "test").iterdir())
    assert files == [f"track_{k:04d}.wav" for k in range(10)]
    assert not any(g in f for f in files for g in GENRES)
    with open(labels) as f:
        got = list(csv.DictReader(f))
    assert [r["track"] for r in got] == [f"track_{k:04d}" for k in range(10)]
    assert sorted(r["genre"] for r in got) == sorted(GENRES)
    assert all(GENRES[int(r["genre_id"])] == r["genre"] for r in got)
    with open(out / "sample_submission.csv") as f:
        assert next(csv.reader(f)) == ["track", "genre_id"]
    with open(out / "genres.csv") as f:
        assert list(csv.reader(f))[1:] == [[str(i), g] for i, g in enumerate(GENRES)]
    assert not list(out.rglob("*label*"))
    assert len(rows) == 10
    with pytest.raises(ValueError, match="inside the student folder"):
        generate_hidden_test(out, out / "labels.csv", "tiny", secret_seed=1, tracks=1, duration=1.0)
    with pytest.raises(ValueError, match="secret seed"):
        generate_hidden_test(out, labels, "tiny", secret_seed=None)


def test_hidden_artists_are_unseen():
    from mirkit.datasets.synth import plan, preset

    public = {t["artist"]["id"] for t in plan(0, preset("tiny"))}
    hidden = {t["artist"]["id"] for t in plan(99, preset("tiny"), prefix="hidden_")}
    assert not public & hidden


def test_cli_help_and_info(tiny, capsys):
    with pytest.raises(SystemExit) as e:
        cli(["--help"])
    assert e.value.code == 0
    assert "synth" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli(["synth", "--help"])
    assert "tiny" in capsys.readouterr().out
    cli(["info", str(tiny[0])])
    text = capsys.readouterr().out
    assert "60 tracks" in text and "split artist" in text
    with pytest.raises(SystemExit, match="not found"):
        cli(["info", "/nonexistent/folder"])


def test_empty_preset_override_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="tracks per genre must be >= 1"):
        generate(tmp_path / "none", "tiny", tracks=0, n_jobs=1)
    with pytest.raises(SystemExit, match="duration > 0"):
        cli(["synth", "--preset", "tiny", "--out", str(tmp_path / "none"), "--duration", "0"])
    assert not (tmp_path / "none").exists()


# ------------------------------------------------------------------ annotations


def test_chord_labels_are_harte_triads():
    assert A.chord_label(7, "7") == "G:maj" and A.chord_label(2, "m9") == "D:min"
    assert A.chord_label(10, "maj9") == "Bb:maj" and A.chord_label(11, "m7b5") == "B:min"
    used = {q for prog in G.PROGRESSIONS.values() for _, q in prog}
    used |= {G.M.EXTEND.get(q, q) for q in used}
    assert used <= set(A.TRIAD), "a progression uses a chord quality the annotations cannot name"
    with pytest.raises(ValueError, match="unknown chord quality"):
        A.chord_label(0, "alien")


def test_every_track_has_chords_covering_the_clip(tiny):
    import mir_eval

    out, rows = tiny
    ds = load_dataset(out)
    for tid in ds.ids:
        intervals, labels = read_chords(ds, tid)
        assert intervals.shape == (len(labels), 2) and intervals.dtype == float
        assert intervals[0, 0] == 0.0 and abs(intervals[-1, 1] - 3.0) < 1e-3
        assert np.allclose(intervals[1:, 0], intervals[:-1, 1]) and np.all(intervals[:, 1] > intervals[:, 0])
        assert all(lab == "N" or lab.split(":")[1] in ("maj", "min") for lab in labels)
        mir_eval.chord.validate(labels, labels)  # parses as Harte syntax
    # same as reading the .lab with mir_eval's own reader, from the folder rather than the Dataset
    iv, lab = mir_eval.io.load_labeled_intervals(str(out / "annotations" / "chords" / "jazz.00003.lab"))
    got_iv, got_lab = read_chords(out, "jazz.00003")
    assert np.allclose(iv, got_iv) and list(lab) == got_lab


def _template_ranks(ds, transpose=0, rotate=0):
    """Rank of the annotated chord among the 24 maj/min templates, against each segment's mean chroma."""
    import librosa

    names = [f"{n}:{q}" for n in A.NOTE_NAMES for q in ("maj", "min")]
    T = np.zeros((24, 12))
    for k, name in enumerate(names):
        root, q = A.NOTE_NAMES.index(name.split(":")[0]), name.split(":")[1]
        T[k, [(root + i) % 12 for i in (0, 4 if q == "maj" else 3, 7)]] = 1
    ranks = []
    for tid in ds.ids[::3]:
        y = ds.load(ds.ids.index(tid))
        C = librosa.feature.chroma_cqt(y=y, sr=ds.sr, hop_length=512)
        t = librosa.frames_to_time(np.arange(C.shape[1]), sr=ds.sr, hop_length=512)
        intervals, labels = read_chords(ds, tid)
        labels = labels[rotate:] + labels[:rotate]
        for (a, b), lab in zip(intervals, labels):
            inside = (t >= a + 0.1) & (t < b - 0.1)
            if lab == "N" or inside.sum() < 3:
                continue
            root, q = lab.split(":")
            lab = f"{A.NOTE_NAMES[(A.NOTE_NAMES.index(root) + transpose) % 12]}:{q}"
            order = np.argsort(-(T @ C[:, inside].mean(axis=1)))
            ranks.append(int(np.flatnonzero(order == names.index(lab))[0]))
    return np.array(ranks)


def test_chords_match_the_rendered_audio(tiny):
    """A chroma-template check: the annotated triad is the best of 24 templates for most segments,
    and neither a transposed annotation nor one shifted by a segment is."""
    ds = load_dataset(tiny[0])
    ranks = _template_ranks(ds)
    assert len(ranks) >= 20
    assert np.mean(ranks == 0) >= 0.5, f"annotated chord is the best template in only {np.mean(ranks == 0):.0%}"
    assert np.mean(_template_ranks(ds, transpose=1) == 0) <= 0.15
    rotated = _template_ranks(ds, rotate=1)
    assert np.mean(rotated == 0) <= np.mean(ranks == 0) - 0.25


def test_instrument_tags_vary_within_genres(tiny):
    ds = load_dataset(tiny[0])
    names, Y = instrument_tags(ds)
    assert names == list(INSTRUMENTS) and Y.shape == (len(ds), len(INSTRUMENTS)) and Y.dtype == float
    assert set(np.unique(Y)) <= {0.0, 1.0} and np.all(Y.sum(axis=1) >= 2)
    labels = ds.labels
    varied = [g for g in range(len(ds.classes)) if len({tuple(r) for r in Y[labels == g]}) > 1]
    assert len(varied) >= 5, "instrument tags should vary within genres, not just repeat the genre"
    # rows follow ds.ids, also in a subset
    sub = ds.subset("test")
    _, Ys = instrument_tags(sub)
    assert np.array_equal(Ys, Y[[ds.ids.index(t) for t in sub.ids]])
    # rock always has a drum kit
    assert Y[labels == ds.classes.index("rock"), INSTRUMENTS.index("drums")].all()


def test_instrument_tags_match_the_score():
    rng = np.random.default_rng(3)
    artist = G.draw_artist("jazz", "jazz_x", rng)
    y, ann = synthesize_track(artist.to_dict(), 11, 2.0, annotations=True)
    assert np.array_equal(y, synthesize_track(artist.to_dict(), 11, 2.0))  # annotating changes nothing
    score = G.arrange(artist, np.random.default_rng(11), 2.0)
    expected = {A.instrument_family(p["program"], p["is_drum"]) for p in score.parts.values()
                if any(score.seconds(n[0]) < 2.0 for n in p["notes"])}
    assert set(ann["instruments"]) == expected
    assert A.instrument_family(0) == "piano" and A.instrument_family(33) == "bass"
    assert A.instrument_family(30) == "guitar" and A.instrument_family(9, is_drum=True) == "drums"


def test_annotation_errors_say_what_to_do(tiny, tmp_path):
    ds = load_dataset(tiny[0])
    with pytest.raises(DatasetError, match="not in this dataset"):
        read_chords(ds, "polka.00001")
    with pytest.raises(DatasetError, match="no such track"):
        read_chords(tiny[0], "polka.00001")
    # a real-data layout has neither chords nor tags
    (tmp_path / "rock").mkdir()
    sf.write(str(tmp_path / "rock" / "a.wav"), np.zeros(2205), 22050)
    real = load_dataset(tmp_path)
    with pytest.raises(DatasetError, match="chord annotations come only with synthetic"):
        read_chords(real, "a")
    with pytest.raises(DatasetError, match="no instrument tags"):
        instrument_tags(real)
