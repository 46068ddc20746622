"""mirkit.signal (lesson 00) against numpy.fft, scipy and librosa."""
import warnings

import librosa
import numpy as np
import pytest
import scipy.signal

from mirkit import signal as S


def _noise(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n)


# ----------------------------------------------------------------------------- framing
@pytest.mark.parametrize("n, frame_length, hop", [(1000, 256, 64), (1001, 255, 100), (7, 7, 1), (50, 8, 50), (513, 512, 3)])
def test_frame_matches_librosa(n, frame_length, hop):
    y = _noise(n)
    out = S.frame(y, frame_length, hop)
    ref = librosa.util.frame(y, frame_length=frame_length, hop_length=hop)
    assert type(out) is np.ndarray and out.shape == ref.shape
    np.testing.assert_array_equal(out, ref)
    assert out.flags.writeable  # a copy, not librosa's read-only strided view


def test_frame_center_pads_half_a_frame_of_zeros():
    y = np.arange(1, 11, dtype=float)
    out = S.frame(y, 4, 2, center=True)
    np.testing.assert_array_equal(out[:, 0], [0, 0, 1, 2])
    assert out.shape == (4, 1 + (10 + 4 - 4) // 2)


@pytest.mark.parametrize("bad, match", [
    (dict(y=np.zeros((2, 100))), "1-D signal"),
    (dict(y=np.zeros(0)), "empty"),
    (dict(y=np.zeros(10), frame_length=16), "fewer than frame_length=16"),
    (dict(y=np.zeros(100), hop_length=0), "hop_length must be a positive integer"),
    (dict(y=np.zeros(100), hop_length=2.5), "hop_length must be a positive integer"),
    (dict(y=np.zeros(100), frame_length=-4), "frame_length must be a positive integer"),
])
def test_frame_bad_input_says_how_to_fix(bad, match):
    kwargs = dict(frame_length=8, hop_length=4) | bad
    with pytest.raises(ValueError, match=match):
        S.frame(kwargs.pop("y"), **kwargs)


# ----------------------------------------------------------------------------- windows and DFT
@pytest.mark.parametrize("name", ["hann", "hamming", "boxcar"])
@pytest.mark.parametrize("n", [1, 2, 255, 512])
def test_window_is_periodic_like_scipy(name, n):
    np.testing.assert_allclose(S.get_window(name, n), scipy.signal.get_window(name, n, fftbins=True), atol=1e-12)


def test_unknown_window():
    with pytest.raises(ValueError, match="unknown window 'blackmanharris'"):
        S.get_window("blackmanharris", 16)


@pytest.mark.parametrize("n", [1, 2, 7, 64, 255])
def test_dft_matrix_product_equals_fft(n):
    x = _noise(n, seed=n)
    F = S.dft_matrix(n)
    assert F.shape == (n, n) and np.iscomplexobj(F)
    np.testing.assert_allclose(S.dft(x), np.fft.fft(x), atol=1e-9 * max(1, n))
    frames = _noise(3 * n, seed=1).reshape(n, 3)
    np.testing.assert_allclose(S.dft(frames), np.fft.fft(frames, axis=0), atol=1e-9 * max(1, n))
    # the inverse DFT matrix is conj(F) / n
    np.testing.assert_allclose(F.conj() @ F / n, np.eye(n), atol=1e-10)


# ----------------------------------------------------------------------------- STFT
@pytest.mark.parametrize("n", [1, 100, 511, 2048, 5001])
@pytest.mark.parametrize("n_fft, hop", [(256, 64), (512, None), (255, 100), (2048, 512)])
def test_stft_matches_librosa(n, n_fft, hop):
    y = _noise(n, seed=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns when n_fft > len(y); we test that case on purpose
        ref = librosa.stft(y, n_fft=n_fft, hop_length=hop, window="hann", center=True, pad_mode="constant")
    out = S.stft(y, n_fft, hop)
    assert out.shape == ref.shape
    assert np.max(np.abs(out - ref)) <= 1e-6 * np.max(np.abs(ref)) + 1e-12


def test_librosa_default_pad_mode_is_zeros():
    # mirkit.signal.stft copies librosa's default; if librosa changes it, this test says so
    y = _noise(3000)
    np.testing.assert_allclose(librosa.stft(y, n_fft=512), S.stft(y, 512), atol=1e-9)


def test_stft_center_false_and_spectrogram():
    y = S.chirp(100, 4000, 0.5, 16000)
    ref = librosa.stft(y, n_fft=400, hop_length=160, center=False)
    np.testing.assert_allclose(S.stft(y, 400, 160, center=False), ref, atol=1e-8)
    np.testing.assert_allclose(S.spectrogram(y, 400, 160, power=2, center=False), np.abs(ref) ** 2, atol=1e-8)


def test_stft_errors():
    with pytest.raises(ValueError, match="fewer than frame_length=512.*center=True"):
        S.stft(np.zeros(300), 512, 128, center=False)
    with pytest.raises(ValueError, match="hop_length must be a positive integer"):
        S.stft(np.zeros(3000), 512, -1)
    with pytest.raises(ValueError, match="1-D signal"):
        S.stft(np.zeros((2, 3000)), 512)


def test_sine_peak_lands_in_its_bin():
    sr, n_fft = 8000, 1024
    k = 100
    y = S.sine(k * sr / n_fft, 1.0, sr)
    mag = S.spectrogram(y, n_fft, 256)
    assert np.all(np.argmax(mag[:, 2:-2], axis=0) == k)
    np.testing.assert_allclose(S.fft_frequencies(sr, n_fft), librosa.fft_frequencies(sr=sr, n_fft=n_fft))
    np.testing.assert_allclose(S.frames_to_time([0, 3], sr=sr, hop_length=256), librosa.frames_to_time([0, 3], sr=sr, hop_length=256))


# ----------------------------------------------------------------------------- decibels, mel
def test_db_conversions_match_librosa():
    X = np.abs(librosa.stft(S.drum_loop(bars=1), n_fft=1024))
    for ref in (1.0, np.max):
        np.testing.assert_allclose(S.amplitude_to_db(X, ref=ref), librosa.amplitude_to_db(X, ref=ref), atol=1e-9)
        np.testing.assert_allclose(S.power_to_db(X ** 2, ref=ref), librosa.power_to_db(X ** 2, ref=ref), atol=1e-9)
    np.testing.assert_allclose(S.power_to_db(X ** 2, top_db=None), librosa.power_to_db(X ** 2, top_db=None), atol=1e-9)
    with pytest.raises(ValueError, match="complex"):
        S.power_to_db(librosa.stft(np.ones(4096)))


@pytest.mark.parametrize("htk", [False, True])
def test_mel_matches_librosa(htk):
    f = np.concatenate([[0.0, 999.999, 1000.0, 1000.001], np.linspace(0, 22050, 997)])
    np.testing.assert_allclose(S.hz_to_mel(f, htk=htk), librosa.hz_to_mel(f, htk=htk), rtol=1e-12)
    m = S.hz_to_mel(f, htk=htk)
    np.testing.assert_allclose(S.mel_to_hz(m, htk=htk), f, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(S.mel_to_hz(m, htk=htk), librosa.mel_to_hz(m, htk=htk), rtol=1e-12)
    assert isinstance(S.hz_to_mel(440.0, htk=htk), float)
    assert S.hz_to_mel(np.ones((2, 3)), htk=htk).shape == (2, 3)


# ----------------------------------------------------------------------------- sampling, quantisation, signals
def test_alias_frequency():
    sr = 8000
    np.testing.assert_allclose(S.alias_frequency([440, 4000, 5000, 7560, 8000, 8440, -300], sr),
                               [440, 4000, 3000, 440, 0, 440, 300])
    # the aliased tone really is that tone: same samples, up to the sign of the sine
    n = np.arange(64)
    np.testing.assert_allclose(np.sin(2 * np.pi * 7560 * n / sr), -np.sin(2 * np.pi * 440 * n / sr), atol=1e-9)


@pytest.mark.parametrize("bits", [4, 8, 12, 16])
def test_quantiser_snr_is_six_db_per_bit(bits):
    delta = 2.0 / 2 ** bits
    amplitude = 1 - delta  # the top level is 1 - delta: a louder sine would clip
    y = S.sine(441.3, 1.0, 44100, amplitude=amplitude)
    q = S.quantise(y, bits)
    assert len(np.unique(q)) <= 2 ** bits
    assert np.max(np.abs(q - y)) <= delta / 2 + 1e-12
    assert abs(S.snr_db(y, q) - (6.02 * bits + 1.76 + 20 * np.log10(amplitude))) < 1.0


def test_quantiser_is_16_bit_pcm():
    x = np.array([-1.0, -0.5, 0.0, 0.3, 1.0, 5.0])
    np.testing.assert_array_equal(S.quantise(x, 16) * 32768, np.clip(np.round(x * 32768), -32768, 32767))
    with pytest.raises(ValueError, match="bits must be a positive integer"):
        S.quantise(x, 0)


def test_generated_signals_are_deterministic_and_in_range():
    a, b = S.drum_loop(seed=3), S.drum_loop(seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (int(round(2 * 4 * 60 / 110 * 22050)),)
    for y in (a, S.tone(220, 0.5), S.chirp(50, 5000, 0.5, method="exponential"), S.arpeggio([60, 64, 67]),
              S.white_noise(0.5)):
        assert y.ndim == 1 and np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 1.0
    np.testing.assert_allclose(S.midi_to_hz([69, 81, 60]), librosa.midi_to_hz([69, 81, 60]))
    # an exponential chirp sweeps f(t) = f0 (f1/f0)^(t/T): the spectral peak follows it
    y = S.chirp(100, 1600, 1.0, 16000, method="exponential")
    spec = S.spectrogram(y, 2048, 512)
    for p in (5, 15, 25):
        peak_hz = S.fft_frequencies(16000, 2048)[np.argmax(spec[:, p])]
        assert abs(peak_hz - 100 * 16 ** (p * 512 / 16000)) < 2 * 16000 / 2048
    with pytest.raises(ValueError, match="method must be"):
        S.chirp(1, 2, method="cubic")


@pytest.mark.parametrize("n, n_fft, hop", [(5000, 1024, 256), (4999, 512, 128), (300, 256, 64), (3001, 255, 100)])
def test_istft_inverts_stft_like_librosa(n, n_fft, hop):
    y = _noise(n, seed=n)
    X = S.stft(y, n_fft, hop)
    np.testing.assert_allclose(S.istft(X, hop, length=n, n_fft=n_fft), y, atol=1e-10)
    np.testing.assert_allclose(S.istft(X, hop, n_fft=n_fft), librosa.istft(X, hop_length=hop, n_fft=n_fft), atol=1e-10)
    with pytest.raises(ValueError, match="shape \\(1 \\+ n_fft//2, n_frames\\)"):
        S.istft(X[:, 0])
    with pytest.raises(ValueError, match="pass the n_fft used by stft"):
        S.istft(X, hop, n_fft=n_fft + 2)


def test_db_conversions_keep_float32_like_librosa():
    X = np.abs(S.stft(S.sine(440.0, 0.1), n_fft=256)).astype(np.float32)
    assert S.power_to_db(X ** 2).dtype == librosa.power_to_db(X ** 2).dtype == np.float32
    assert S.amplitude_to_db(X).dtype == np.float32
