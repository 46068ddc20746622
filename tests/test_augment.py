"""mirkit.augment: properties of each transform, seeded pipelines, SpecAugment, error messages."""
import numpy as np
import pytest

from mirkit import augment as A

SR = 22050


def tone(freq=440.0, seconds=1.0, sr=SR, harmonics=3, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    return amp * sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, harmonics + 1))


def music(seconds=2.0, seed=0):
    rng = np.random.default_rng(seed)
    y = tone(220, seconds) + tone(330, seconds, amp=0.2)
    return 0.5 * y / np.max(np.abs(y)) + 0.01 * rng.standard_normal(len(y))


@pytest.mark.parametrize("db", [-20.0, -6.0, 0.0, 3.5, 12.0])
def test_gain_in_db_is_exact(db):
    y = music()
    assert A.rms_db(A.gain(y, db)) - A.rms_db(y) == pytest.approx(db, abs=1e-9)
    assert np.max(np.abs(A.gain(y, db))) == pytest.approx(np.max(np.abs(y)) * 10 ** (db / 20))


@pytest.mark.parametrize("color", ["white", "pink", "brown"])
@pytest.mark.parametrize("snr", [0.0, 10.0, 30.0])
def test_noise_reaches_target_snr(color, snr):
    y = music()
    out = A.add_noise(y, snr, np.random.default_rng(1), color)
    noise = out - y
    measured = 10 * np.log10(np.mean(y ** 2) / np.mean(noise ** 2))
    assert abs(measured - snr) < 0.5


@pytest.mark.parametrize("n_steps", [-3, 2, 5])
def test_pitch_shift_moves_the_chroma_peak(n_steps):
    import librosa

    y = tone(440.0, 1.5)  # A4: chroma class 9
    before = np.argmax(librosa.feature.chroma_stft(y=y, sr=SR, tuning=0.0).mean(axis=1))
    after = np.argmax(librosa.feature.chroma_stft(y=A.pitch_shift(y, SR, n_steps), sr=SR, tuning=0.0).mean(axis=1))
    assert before == 9
    assert after == (before + n_steps) % 12
    assert len(A.pitch_shift(y, SR, n_steps)) == len(y)


@pytest.mark.parametrize("rate", [0.5, 0.8, 1.25, 2.0])
def test_time_stretch_changes_length_by_one_over_rate(rate):
    y = music(1.0)
    assert abs(len(A.time_stretch(y, rate)) - len(y) / rate) <= 1


def test_time_shift_roll_and_pad():
    y = np.arange(10.0)
    assert np.array_equal(A.time_shift(y, 3), np.roll(y, 3))
    padded = A.time_shift(y, 3, mode="pad")
    assert np.array_equal(padded, [0, 0, 0, 0, 1, 2, 3, 4, 5, 6])
    assert np.array_equal(A.time_shift(y, -2, mode="pad"), [2, 3, 4, 5, 6, 7, 8, 9, 0, 0])


@pytest.mark.parametrize("gain_db", [-9.0, 6.0])
def test_peaking_biquad_has_its_gain_at_f0(gain_db):
    b, a = A.biquad("peak", 1000.0, SR, q=1.0, gain_db=gain_db)
    resp = A.frequency_response_db(b, a, [1000.0, 20.0, 10000.0], SR)
    assert resp[0] == pytest.approx(gain_db, abs=1e-6)
    assert abs(resp[1]) < 0.1 and abs(resp[2]) < 0.5


def test_shelves_and_passes():
    b, a = A.biquad("lowshelf", 200.0, SR, gain_db=6.0)
    assert A.frequency_response_db(b, a, [10.0], SR)[0] == pytest.approx(6.0, abs=0.1)
    b, a = A.biquad("highshelf", 3000.0, SR, gain_db=-6.0)
    assert A.frequency_response_db(b, a, [10000.0], SR)[0] == pytest.approx(-6.0, abs=0.3)
    b, a = A.biquad("lowpass", 1000.0, SR, q=1 / np.sqrt(2))
    assert A.frequency_response_db(b, a, [1000.0], SR)[0] == pytest.approx(-3.01, abs=0.05)
    b, a = A.biquad("highpass", 1000.0, SR, q=1 / np.sqrt(2))
    assert A.frequency_response_db(b, a, [100.0], SR)[0] < -35


def test_eq_filters_the_waveform_like_its_response():
    y = tone(1000.0, 1.0, harmonics=1)
    out = A.eq(y, SR, [("peak", 1000.0, 1.0, 6.0)])
    # after the transient, a 1 kHz sine comes out 6 dB louder
    assert A.rms_db(out[SR // 2:]) - A.rms_db(y[SR // 2:]) == pytest.approx(6.0, abs=0.05)


def test_compressor_follows_its_static_curve():
    loud = tone(500.0, 1.0, harmonics=1, amp=10 ** (-6 / 20) * np.sqrt(2))  # RMS -6 dBFS
    out = A.compress(loud, SR, threshold_db=-20.0, ratio=4.0)
    assert A.rms_db(out[SR // 2:]) == pytest.approx(-20 + 14 / 4, abs=0.5)
    quiet = tone(500.0, 1.0, harmonics=1, amp=0.01)  # far below the threshold: untouched
    assert np.allclose(A.compress(quiet, SR, threshold_db=-20.0, ratio=4.0), quiet, atol=1e-4)


def test_degradations():
    y = music()
    q = A.bit_depth(y, 8)
    assert np.max(np.abs(q - y)) <= 1 / 2 ** 8 + 1e-12
    assert len(np.unique(q)) <= 2 ** 8
    assert np.max(np.abs(A.clip(y, 0.2))) <= 0.2
    assert np.max(np.abs(A.clip(y, 0.2, soft=True))) <= 0.2
    white = np.random.default_rng(0).standard_normal(SR)
    low = A.resample_degrade(white, SR, 8000)
    spec = np.abs(np.fft.rfft(low)) ** 2
    f = np.fft.rfftfreq(len(low), 1 / SR)
    assert spec[f > 4500].sum() < 1e-3 * spec[f < 3500].sum()
    lp = A.lowpass(white, SR, 2000)
    spec = np.abs(np.fft.rfft(lp)) ** 2
    assert spec[f > 4000].sum() < 1e-3 * spec[f < 1500].sum()


def test_reverb_and_room_ir():
    rng = np.random.default_rng(0)
    h = A.room_ir(SR, 0.8, rng)
    assert h[0] == 1.0
    early, late = np.sum(h[1000:5000] ** 2), np.sum(h[-4000:] ** 2)
    assert late < 1e-3 * early  # 60 dB down at rt60
    y = music()
    out = A.reverb(y, SR, rt60=0.8, wet=0.4, rng=rng)
    assert out.shape == y.shape and np.all(np.isfinite(out))
    assert not np.allclose(out, y)


def test_pipeline_same_seed_same_output_and_in_range():
    y = music(1.0)
    pipe = A.default_pipeline()
    a, b = pipe(y, SR, seed=3), pipe(y, SR, seed=3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, pipe(y, SR, seed=4))
    for s in range(6):
        out = pipe(8 * y, SR, seed=s)  # even a too-loud input comes out in range
        assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 1.0
    seeded1, seeded2 = A.Compose([A.Gain(), A.Noise()], seed=9), A.Compose([A.Gain(), A.Noise()], seed=9)
    assert np.array_equal(seeded1(y, SR), seeded2(y, SR))


def test_each_random_transform_runs_and_respects_p():
    y = music(1.0)
    rng = np.random.default_rng(0)
    for t in (A.Gain(), A.TimeShift(0.1), A.PitchShift(), A.TimeStretch(), A.EQ(), A.Compress(),
              A.Degrade(), A.Noise(), A.Reverb(), A.OneOf([A.Gain(), A.Noise()])):
        out = t(y, SR, rng)
        assert out.shape == y.shape and np.all(np.isfinite(out)), repr(t)
    assert np.array_equal(A.Noise(p=0.0)(y, SR, rng), y)


def test_spec_augment_masks_without_touching_the_input():
    rng = np.random.default_rng(0)
    S = np.random.default_rng(1).random((2, 64, 100)) + 1.0
    out = A.freq_mask(S, 10, rng, n_masks=1, fill=0.0)
    rows = np.all(out == 0, axis=(0, 2))
    assert out.shape == S.shape and rows.sum() <= 10 and np.all(S > 0)
    out = A.time_mask(S, 20, np.random.default_rng(5), n_masks=2, fill=0.0)
    assert np.all(out[:, :, np.all(out == 0, axis=(0, 1))] == 0)
    out = A.spec_augment(S, np.random.default_rng(2), freq_width=8, time_width=10)
    assert out.shape == S.shape


def test_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="mono"):
        A.gain(np.zeros((2, 100)), 3)
    with pytest.raises(ValueError, match="NaN"):
        A.gain(np.array([0.0, np.nan]), 3)
    with pytest.raises(ValueError, match="unknown biquad kind"):
        A.biquad("notch", 1000, SR)
    with pytest.raises(ValueError, match="Nyquist"):
        A.biquad("peak", 20000, SR)
    with pytest.raises(ValueError, match="spectrogram"):
        A.freq_mask(np.zeros(10), 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="probability"):
        A.Gain(p=2)


def test_time_shift_pad_beyond_the_length_gives_silence():
    y = np.arange(1.0, 6.0)
    for shift in (5, 7, -5, -7):
        assert np.array_equal(A.time_shift(y, shift, mode="pad"), np.zeros(5))


def test_transforms_never_return_the_callers_array():
    y = np.linspace(-0.5, 0.5, 100)
    for out in (A.eq(y, SR, []), A.degrade(y, SR), A.time_shift(y, 0, mode="pad")):
        assert out is not y and not np.shares_memory(out, y)


def test_compose_without_a_seed_is_reproducible():
    y = music(0.5)
    a = A.Compose([A.Gain(), A.Noise()])(y, SR)
    b = A.Compose([A.Gain(), A.Noise()])(y, SR)
    assert np.array_equal(a, b)


def test_spec_masks_require_a_generator():
    from mirkit.augment.specaugment import freq_mask, time_mask
    S = np.ones((8, 10))
    for mask in (freq_mask, time_mask):
        with pytest.raises(TypeError, match="default_rng"):
            mask(S, 3, None)


def test_compose_draws_in_the_documented_order_and_records_what_it_applied():
    # lessons/08-data-augmentation has students reproduce Compose: one u = rng.random() per
    # transform, in order; apply (drawing its parameters) iff u < p; peak back to 1 at the end.
    y = 0.3 * music(0.3)
    transforms = [A.Gain((-6, 12), p=0.6), A.EQ(n_bands=2, p=0.5), A.Noise((5, 30), p=0.5),
                  A.Gain((20, 30), p=0.3)]
    pipe = A.Compose(transforms)
    for seed in range(10):
        rng = np.random.default_rng(seed)
        expected, applied = np.asarray(y, dtype=np.float64), []
        for t in transforms:
            if rng.random() < t.p:
                expected = t.apply(expected, SR, rng)
                applied.append(t)
        peak = np.max(np.abs(expected))
        expected = expected / peak if peak > 1 else expected
        out = pipe(y, SR, rng=np.random.default_rng(seed))
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)
        assert pipe.last_applied == applied
    # a RandomTransform called alone makes the same single draw before deciding
    for seed in range(5):
        t = A.Gain((3, 3), p=0.5)
        alone = t(y, SR, np.random.default_rng(seed))
        in_pipe = A.Compose([t], limit=False)(y, SR, rng=np.random.default_rng(seed))
        np.testing.assert_array_equal(alone, in_pipe)


def test_compose_last_applied_is_empty_when_nothing_fires():
    pipe = A.Compose([A.Gain(p=0.0), A.Noise(p=0.0)])
    y = music(0.2)
    assert np.array_equal(pipe(y, SR), y) and pipe.last_applied == []


def test_docstrings_name_the_lesson_and_nothing_outside_the_repository():
    import inspect
    import re

    import mirkit.augment.filters as F
    import mirkit.augment.pipeline as P
    import mirkit.augment.specaugment as S
    import mirkit.augment.transforms as T

    for module in (A, F, P, S, T):
        doc = inspect.getdoc(module)
        assert "lessons/08-data-augmentation" in doc, module.__name__
        source = inspect.getsource(module)
        assert not re.search(r"seeds? 00\d|lecture 00\d|\.\./shared", source), module.__name__
    for fn in (T.gain, T.time_shift, T.time_stretch, T.pitch_shift, T.eq, T.lowpass, T.compress, T.clip,
               T.bit_depth, T.resample_degrade, T.add_noise, T.reverb, S.freq_mask, S.time_mask):
        doc = inspect.getdoc(fn)
        assert "Preserves" in doc or "preserve" in doc.lower() or fn in (S.freq_mask, S.time_mask), fn.__name__
        assert "->" in doc, f"{fn.__name__}: state the shapes"
