"""mirkit.datasets loaders: GTZAN, Kaggle-style and FMA-style (MP3) and folder-per-class layouts,
resampling, splits, the feature cache and the error messages. Fixtures are written to tmp dirs."""
import csv

import numpy as np
import pytest
import soundfile as sf

from mirkit.datasets import DatasetError, detect_layout, load_dataset, read_audio

SR = 22050


def write(path, seconds=0.5, sr=SR, channels=1, freq=440.0, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * freq * t)
    sf.write(str(path), np.stack([y] * channels, axis=1) if channels > 1 else y, sr, **kw)
    return path


@pytest.fixture
def gtzan(tmp_path):
    root = tmp_path / "gtzan"
    for genre in ("blues", "jazz", "rock"):
        for i in range(3):
            write(root / "genres" / genre / f"{genre}.{i:05d}.wav")
    write(root / "genres" / "rock" / "rock.00003.au", format="AU", subtype="PCM_16")
    (root / "genres" / "jazz" / "jazz.00054.wav").write_bytes(b"RIFF\x00\x00 not really a wave file")
    return root


def test_gtzan_layout_skips_jazz_00054_with_a_warning(gtzan):
    with pytest.warns(UserWarning, match="jazz.00054"):
        ds = load_dataset(gtzan)
    assert ds.layout == "gtzan" and len(ds) == 10 and ds.classes == ["blues", "jazz", "rock"]
    assert "jazz.00054" not in ds.ids and "rock.00003" in ds.ids
    y, label = ds[ds.ids.index("rock.00003")]  # the .au file
    assert y.dtype == np.float32 and y.shape == (SR // 2,) and ds.classes[label] == "rock"


def test_gtzan_fault_filtered_split_files(gtzan):
    (gtzan / "train_filtered.txt").write_text("blues/blues.00000.wav\njazz/jazz.00000.wav\nrock/rock.00000.wav\n")
    (gtzan / "valid_filtered.txt").write_text("blues/blues.00001.wav\n")
    (gtzan / "test_filtered.txt").write_text("jazz/jazz.00002.wav\nrock/rock.00002.wav\n")
    with pytest.warns(UserWarning):
        ds = load_dataset(gtzan)
    assert "filtered" in ds.split_names
    assert ds.subset("train", split="filtered").ids == ["blues.00000", "jazz.00000", "rock.00000"]
    assert ds.subset("test", split="filtered").ids == ["jazz.00002", "rock.00002"]
    with pytest.raises(DatasetError, match="no split 'artist'"):
        ds.subset("train", split="artist")


def test_kaggle_style_mp3_folder_resampled_to_mono(tmp_path):
    root = tmp_path / "kaggle"
    rows = [("a1", "rock"), ("a2", "pop"), ("a3", "rock"), ("a4", "pop")]
    for tid, _ in rows[:3]:
        write(root / "train" / f"{tid}.mp3", seconds=1.0, sr=44100, channels=2, format="MP3")
    write(root / "train" / "a4.ogg", seconds=1.0, sr=16000, format="OGG", subtype="VORBIS")
    with open(root / "train.csv", "w", newline="") as f:
        csv.writer(f).writerows([("track_id", "genre"), *rows, ("a9", "rock")])  # a9: no audio
    assert detect_layout(root) == "csv"
    with pytest.warns(UserWarning, match="a9"):
        ds = load_dataset(root)
    assert ds.ids == ["a1", "a2", "a3", "a4"] and ds.classes == ["pop", "rock"]
    for i in range(4):
        y, _ = ds[i]
        assert y.ndim == 1 and abs(len(y) - SR) < 0.06 * SR  # MP3 adds some padding
    y, _ = ds[0]
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * SR / len(y) - 440) < 5  # same pitch after resampling
    with pytest.warns(UserWarning):
        assert len(load_dataset(root, sr=16000)[3][0]) == 16000


def test_fma_style_ids_and_subfolders(tmp_path):
    root = tmp_path / "fma"
    write(root / "fma_small" / "000" / "000002.mp3", format="MP3")
    write(root / "fma_small" / "000" / "000005.mp3", format="MP3")
    write(root / "fma_small" / "014" / "014541.mp3", format="MP3")
    with open(root / "tracks.csv", "w", newline="") as f:
        csv.writer(f).writerows([("track_id", "genre_top"), (2, "Hip-Hop"), (5, "Hip-Hop"), (14541, "Rock")])
    ds = load_dataset(root)
    assert ds.layout == "csv" and ds.ids == ["2", "5", "14541"] and ds.classes == ["Hip-Hop", "Rock"]
    assert ds.tracks[2].path.name == "014541.mp3"


def test_folder_per_class(tmp_path):
    root = tmp_path / "classes"
    write(root / "speech" / "one.wav")
    write(root / "music" / "two.flac", format="FLAC")
    write(root / "music" / "three.wav", sr=8000)
    ds = load_dataset(root)
    assert ds.layout == "folders" and ds.classes == ["music", "speech"] and len(ds) == 3
    assert list(ds.labels) == [0, 0, 1]
    assert len(ds[1][0]) == SR // 2  # 8 kHz file resampled


def tones_folder(tmp_path, n, base_freq):
    """A folder-per-class dataset of n tones in class "a", at base_freq, 2 base_freq, ..."""
    root = tmp_path / "classes"
    for i in range(n):
        write(root / "a" / f"{i}.wav", freq=base_freq * (i + 1))
    return root


def test_feature_cache_is_keyed_by_parameters(tmp_path):
    ds = load_dataset(tones_folder(tmp_path, 3, 200.0))
    cache = tmp_path / "cache"
    CALLS.clear()
    first = ds.features(band_energy, cache=cache, progress=False, n_bands=4)
    assert first.shape == (3, 4) and len(CALLS) == 3
    again = ds.features(band_energy, cache=cache, progress=False, n_bands=4)
    assert np.array_equal(first, again) and len(CALLS) == 3  # read from the cache
    other = ds.features(band_energy, cache=cache, progress=False, n_bands=8)
    assert other.shape == (3, 8) and len(CALLS) == 6  # new parameters: recomputed
    write(ds.root / "a" / "0.wav", seconds=0.25, freq=3000.0)  # a changed file is recomputed
    ds.features(band_energy, cache=cache, progress=False, n_bands=4)
    assert len(CALLS) == 7
    assert len(list(cache.glob("*/params.json"))) == 2


CALLS = []


def band_energy(y, sr, n_bands):
    CALLS.append(1)
    spec = np.abs(np.fft.rfft(y)) ** 2
    return np.array([b.sum() for b in np.array_split(spec, n_bands)])


def test_errors_name_the_path_and_show_the_layouts(tmp_path):
    with pytest.raises(DatasetError, match="dataset folder not found") as e:
        load_dataset(tmp_path / "missing")
    assert str(tmp_path / "missing") in str(e.value) and "genres/<genre>" in str(e.value)
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "readme.txt").write_text("hello")
    with pytest.raises(DatasetError, match="cannot recognise the dataset layout") as e:
        load_dataset(tmp_path / "odd")
    assert "Expected one of these layouts" in str(e.value)
    bad = tmp_path / "cls" / "x" / "broken.wav"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    ds = load_dataset(tmp_path / "cls")
    with pytest.raises(DatasetError, match="cannot read audio file") as e:
        ds[0]
    assert str(bad) in str(e.value)
    with pytest.raises(DatasetError, match="not found"):
        read_audio(tmp_path / "nope.wav")
    with pytest.raises(DatasetError, match="unknown layout"):
        load_dataset(tmp_path / "cls", layout="mystery")


def test_synth_layout_via_the_same_api(tmp_path):
    from mirkit.datasets import generate

    rows = generate(tmp_path / "s", "tiny", seed=3, n_jobs=1, genres=("disco", "pop"), tracks=6, duration=1.0)
    ds = load_dataset(tmp_path / "s")
    assert ds.layout == "synth" and len(ds) == len(rows) == 12 and ds.classes == ["disco", "pop"]
    assert set(ds.split_names) == {"artist", "random"}
    train, test = ds.subset("train"), ds.subset("test")
    assert not set(train.artists) & set(test.artists)
    y, label = ds[0]
    assert y.shape == (SR,) and label == 0


def test_feature_cache_tells_extractors_apart_and_survives_a_damaged_entry(tmp_path):
    ds = load_dataset(tones_folder(tmp_path, 2, 300.0))
    cache = tmp_path / "cache"
    peak = ds.features(lambda y, sr: np.array([np.max(np.abs(y))]), cache=cache, progress=False)
    size = ds.features(lambda y, sr: np.array([float(len(y))]), cache=cache, progress=False)
    assert not np.array_equal(peak, size)  # two lambdas do not share a cache entry
    CALLS.clear()
    first = ds.features(band_energy, cache=cache, progress=False, n_bands=2)
    for entry in cache.glob("*/*.npy"):  # as if a run had been killed while writing
        entry.write_bytes(b"\x93NUMPY truncated")
    again = ds.features(band_energy, cache=cache, progress=False, n_bands=2)
    assert np.array_equal(again, first) and len(CALLS) == 4  # recomputed, not crashed
    assert not list(cache.glob("*/*.tmp"))


def test_features_of_different_shapes_get_a_clear_error(tmp_path):
    root = tmp_path / "classes"
    write(root / "a" / "0.wav", seconds=0.25)
    write(root / "a" / "1.wav", seconds=0.5)
    with pytest.raises(DatasetError, match="duration="):
        load_dataset(root).features(lambda y, sr: y[::100], cache=None, progress=False)
