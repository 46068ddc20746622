"""mirkit.features: descriptor networks vs librosa 0.11, gradient checks, training (lesson 06).

Agreement is measured by the relative error max|a - b| / max|b|, per example (the worst
example counts), and must be <= 1e-5 for float32 and <= 1e-8 for float64.
"""
import warnings

import librosa
import numpy as np
import pytest

from mirkit import features as mf
from mirkit.nn import SGD, Adam, Dense, GlobalAvgPool, SoftmaxCrossEntropy, check_layer
from mirkit.nn.base import Sequential

SR = 22050
TOL = {np.float32: 1e-5, np.float64: 1e-8}


def rel_err(a, b):
    """max|a - b| / max|b| of one example (absolute error if b is all zeros)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = np.max(np.abs(b)) if b.size else 0.0
    err = np.max(np.abs(a - b)) if b.size else 0.0
    return err / scale if scale > 0 else err


def signal(kind, length, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length) / SR
    if kind == "noise":
        return rng.standard_normal(length)
    if kind == "harmonics":  # a tone with 6 harmonics and a slow vibrato: sharp spectral peaks
        f0 = 196.0 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        return sum(np.sin(k * phase) / k for k in range(1, 7))
    if kind == "bursts":  # noise bursts separated by silence: onsets, and all-zero frames
        return np.where((t % 0.25) < 0.03, rng.standard_normal(length), 0.0)
    raise ValueError(kind)


def librosa_ref(name, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_fft too large for input signal" on short signals
        if name == "mfcc":
            return librosa.feature.mfcc(y=y, sr=SR, **kw)
        if name == "chroma":
            return librosa.feature.chroma_stft(y=y, sr=SR, tuning=0.0, **kw)
        if name == "onset":
            return librosa.onset.onset_strength(y=y, sr=SR, **kw)
        if name == "mel":
            return librosa.feature.melspectrogram(y=y, sr=SR, **kw)
        if name == "logmel":
            return librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR, **kw))
    raise ValueError(name)


NETS = {"mfcc": mf.MFCC, "chroma": mf.Chroma, "onset": mf.OnsetStrength,
        "mel": mf.MelSpectrogram, "logmel": mf.LogMel}
_CACHE = {}


def net(name, fast=False, **kw):
    key = (name, fast, tuple(sorted(kw.items())))
    if key not in _CACHE:
        _CACHE[key] = NETS[name](sr=SR, fast=fast, **kw)
    return _CACHE[key]


# -- filters ------------------------------------------------------------------------------------
@pytest.mark.parametrize("sr,n_fft,n_mels,htk,fmin,fmax", [
    (22050, 2048, 128, False, 0.0, None), (16000, 512, 40, True, 20.0, 7000.0),
    (44100, 1023, 64, False, 50.0, None)])
def test_mel_filterbank_equals_librosa_bit_for_bit(sr, n_fft, n_mels, htk, fmin, fmax):
    ours = mf.mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk)
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("sr,n_fft,tuning", [(22050, 2048, 0.0), (22050, 4096, 0.3), (16000, 1023, -0.2)])
def test_chroma_filterbank_equals_librosa_bit_for_bit(sr, n_fft, tuning):
    np.testing.assert_array_equal(mf.chroma_filterbank(sr, n_fft, tuning=tuning),
                                  librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=tuning))


def test_dct_and_dft_matrices():
    import scipy.fft
    x = np.random.default_rng(0).standard_normal((40, 7))
    np.testing.assert_allclose(mf.dct_matrix(13, 40) @ x,
                               scipy.fft.dct(x, type=2, norm="ortho", axis=0)[:13], atol=1e-13)
    W_re, W_im = mf.dft_matrices(64)
    frames = np.vstack([x, x[:24]])                                   # (64, 7)
    X = np.fft.rfft(librosa.filters.get_window("hann", 64)[:, None] * frames, axis=0)
    np.testing.assert_allclose(W_re @ frames, X.real, atol=1e-12)
    np.testing.assert_allclose(W_im @ frames, X.imag, atol=1e-12)
    np.testing.assert_allclose(mf.hz_to_mel(mf.mel_to_hz([0, 10, 15, 30, 50])), [0, 10, 15, 30, 50])
    assert np.isclose(mf.hz_to_mel(1000.0), 15.0) and np.isclose(mf.hz_to_mel(700.0, htk=True),
                                                                   2595 * np.log10(2))


# -- agreement with librosa ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed,kind", enumerate(["noise", "harmonics", "bursts"]))
@pytest.mark.parametrize("name", list(NETS))
def test_default_networks_equal_librosa(name, seed, kind, dtype):
    # a fixed seed per kind (hash(kind) would change from one Python process to the next)
    y = signal(kind, 2 * SR + 123, seed=seed).astype(dtype)
    out = net(name)(y)
    ref = librosa_ref(name, y)
    assert out.dtype == ref.dtype and out.shape == ref.shape
    assert rel_err(out, ref) <= TOL[dtype]


@pytest.mark.parametrize("length", [1, 2, 100, 511, 512, 513, 1024, 2047, 2048, 2049, 5000])
@pytest.mark.parametrize("name", ["mfcc", "chroma", "onset"])
def test_edge_lengths_including_shorter_than_a_frame(name, length):
    for dtype in (np.float32, np.float64):
        y = signal("noise", length, seed=length).astype(dtype)
        out, ref = net(name)(y), librosa_ref(name, y)
        assert out.shape == ref.shape
        assert rel_err(out, ref) <= TOL[dtype], (length, dtype)


PARAMS = [dict(n_fft=1024, hop_length=256, n_mels=64, n_mfcc=13),
          dict(n_fft=512, hop_length=128, n_mels=40, n_mfcc=40, htk=True, fmin=30.0, fmax=8000.0),
          dict(n_fft=1023, hop_length=300, n_mels=96, n_mfcc=7)]


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_default_parameters(params, dtype):
    y = signal("harmonics", SR + 777).astype(dtype)
    n_fft, hop = params["n_fft"], params["hop_length"]
    mel_kw = {k: v for k, v in params.items() if k in ("n_mels", "htk", "fmin", "fmax")}
    out = mf.MFCC(SR, **params)(y)
    ref = librosa.feature.mfcc(y=y, sr=SR, **params)
    assert rel_err(out, ref) <= TOL[dtype]
    out = mf.MelSpectrogram(SR, n_fft=n_fft, hop_length=hop, **mel_kw)(y)
    ref = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=n_fft, hop_length=hop, **mel_kw)
    assert rel_err(out, ref) <= TOL[dtype]
    out = mf.Chroma(SR, n_fft=n_fft, hop_length=hop, tuning=0.25)(y)
    ref = librosa.feature.chroma_stft(y=y, sr=SR, n_fft=n_fft, hop_length=hop, tuning=0.25)
    assert rel_err(out, ref) <= TOL[dtype]
    out = mf.OnsetStrength(SR, n_fft=n_fft, hop_length=hop, n_mels=params["n_mels"], lag=2)(y)
    ref = librosa.onset.onset_strength(y=y, sr=SR, n_fft=n_fft, hop_length=hop,
                                       n_mels=params["n_mels"], lag=2)
    assert rel_err(out, ref) <= TOL[dtype]


def test_power_to_db_options_equal_librosa():
    S = np.abs(librosa.stft(signal("harmonics", 8000))) ** 2
    for kw in [dict(), dict(ref=3.0, amin=1e-6, top_db=40.0), dict(top_db=None)]:
        np.testing.assert_allclose(mf.PowerToDb(**kw)(S), librosa.power_to_db(S, **kw), rtol=1e-12)
    np.testing.assert_allclose(mf.PowerToDb(ref="max")(S), librosa.power_to_db(S, ref=np.max),
                               atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_equals_librosa_per_example(dtype):
    """A batch (N, L) gives, example by example, what librosa gives for each signal alone
    (top_db per example), and a (N, C, L) batch works too."""
    Y = np.stack([signal(k, SR // 2, seed=i) * (10.0 ** -i)
                  for i, k in enumerate(["noise", "harmonics", "bursts", "harmonics"])]).astype(dtype)
    for name in ("mfcc", "chroma", "onset", "logmel"):
        out = net(name)(Y)
        for i, y in enumerate(Y):
            assert rel_err(out[i], librosa_ref(name, y)) <= TOL[dtype], (name, i)
    out = net("mfcc")(Y.reshape(2, 2, -1))
    np.testing.assert_array_equal(out.reshape((4,) + out.shape[2:]), net("mfcc")(Y))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_dft_equals_matrix_dft_forward_and_backward(dtype):
    rng = np.random.default_rng(1)
    for n_fft in (64, 63):
        frames = rng.standard_normal((3, n_fft, 9)).astype(dtype)
        slow, fast = mf.DFT(n_fft), mf.DFT(n_fft, fast=True)
        assert list(fast.named_parameters()) == [] and len(list(slow.named_parameters())) == 2
        a, b = slow(frames), fast(frames)
        assert a.dtype == b.dtype == dtype
        assert rel_err(b, a) <= TOL[dtype]
        d = rng.standard_normal(a.shape).astype(dtype)
        assert rel_err(fast.backward(d), slow.backward(d)) <= TOL[dtype]
    y = signal("harmonics", 9000)
    assert rel_err(mf.MFCC(SR, fast=True)(y), mf.MFCC(SR)(y)) <= 1e-12


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_networks_equal_librosa_over_many_fft_blocks(dtype):
    """The FFT path works by blocks of frames (mirkit.features.fast.BLOCK_BYTES): 3 s of signal is ~130 frames,
    several blocks, the last one partial; batches of shape (N, L) and (N, C, L) too."""
    Y = np.stack([signal(k, 3 * SR + 77, seed=i) for i, k in
                  enumerate(["harmonics", "bursts", "noise", "harmonics"])]).astype(dtype)
    assert mf.Frames()(Y[0]).shape[-1] > 2 * mf.fast.BLOCK_BYTES // (8 * 2048)
    for name in ("mfcc", "chroma", "onset", "logmel"):
        out = net(name, fast=True)(Y)
        for i, y in enumerate(Y):
            assert rel_err(out[i], librosa_ref(name, y)) <= TOL[dtype], (name, i)
        np.testing.assert_array_equal(net(name, fast=True)(Y.reshape(2, 2, -1)).reshape(out.shape), out)


def test_linear_stages_give_the_same_numbers_for_any_memory_layout():
    """Our spectrograms are stored frame by frame (one BLAS call for all frames); a C-ordered
    input takes the one-product-per-example route: same result."""
    rng = np.random.default_rng(3)
    x_c = rng.random((3, 1025, 40))                                  # C order: time contiguous
    x_rows = np.swapaxes(np.ascontiguousarray(np.swapaxes(x_c, -1, -2)), -1, -2)   # frame by frame
    for layer in (mf.MelFilterbank(), mf.ChromaFilterbank()):
        np.testing.assert_allclose(layer(x_rows), layer(x_c), rtol=1e-13, atol=0)
        np.testing.assert_allclose(layer(x_c[0]), layer(x_c)[0], rtol=1e-13, atol=0)


# -- gradients ----------------------------------------------------------------------------------
def _check(layer, x, **kw):
    report = check_layer(layer, x, **kw)
    assert report.passed, str(report)


def test_gradcheck_framing_dft_power_magnitude():
    rng = np.random.default_rng(0)
    for n_fft, hop, length in [(16, 4, 37), (15, 6, 5), (8, 10, 30)]:
        _check(mf.Frames(n_fft, hop), rng.standard_normal((2, length)))
    _check(mf.Frames(8, 3, center=False), rng.standard_normal(20))
    _check(mf.DFT(16), rng.standard_normal((2, 16, 5)))
    _check(mf.DFT(15, window="hamming"), rng.standard_normal((15, 4)))
    _check(mf.DFT(16, fast=True), rng.standard_normal((2, 16, 5)))
    _check(mf.Power(), rng.standard_normal((2, 2, 9, 5)))
    _check(mf.Magnitude(), rng.standard_normal((2, 2, 9, 5)))


def test_gradcheck_filterbanks_and_dct():
    rng = np.random.default_rng(1)
    _check(mf.MelFilterbank(8000, 32, 6), rng.random((2, 17, 5)))
    _check(mf.ChromaFilterbank(8000, 32), rng.random((3, 17, 4)))
    _check(mf.DCT(10, 4), rng.standard_normal((2, 10, 3)))


def test_gradcheck_piecewise_layers_away_from_kinks():
    rng = np.random.default_rng(2)
    # power in [0.1, 1] -> y in [-10, 0] dB; floor at max - 5 dB; keep y away from the floor
    x = 10.0 ** rng.uniform(-1, 0, size=(2, 6, 5))
    db = 10 * np.log10(x)
    x = np.where(np.abs(db - db.max(axis=(-2, -1), keepdims=True) + 5) < 0.3, x * 10 ** 0.06, x)
    _check(mf.PowerToDb(top_db=5.0), x)
    _check(mf.PowerToDb(ref="max", top_db=5.0), x)
    _check(mf.PowerToDb(ref=2.0, top_db=None), x)
    _check(mf.FrameNorm(), rng.random((2, 12, 4)) + np.eye(12)[:, :4])   # distinct maxima
    _check(mf.Diff(2), rng.standard_normal((2, 5, 7)))
    _check(mf.BandMean(), rng.standard_normal((2, 5, 7)))
    _check(mf.OnsetAlign(8, 2), rng.standard_normal((2, 9)))


def test_gradcheck_whole_mfcc_network():
    y = signal("noise", 120)
    model = mf.MFCC(8000, n_mfcc=4, n_fft=16, hop_length=8, n_mels=5, top_db=None, trainable=True)
    # slaney-normalised mel weights are ~1e-3: scale them so that h = 1e-6 is a small step
    model[3].params["W"].value *= 1000.0
    report = check_layer(model, y, n_samples=20)
    assert report.passed, str(report)


# -- freezing and training ----------------------------------------------------------------------
def test_frozen_vs_trainable():
    y = signal("noise", 600)[None]
    model = mf.MFCC(8000, n_mfcc=5, n_fft=32, hop_length=16, n_mels=8)
    assert all(not p.trainable for _, p in model.named_parameters())   # descriptors start frozen
    names = [n for n, _ in model.named_parameters()]
    assert names == ["1.W_re", "1.W_im", "3.W", "5.W"]
    before = {n: p.value.copy() for n, p in model.named_parameters()}
    opt = SGD(model.named_parameters(), lr=0.1)
    out = model(y)
    model.backward(np.ones_like(out))
    opt.step()
    for n, p in model.named_parameters():
        np.testing.assert_array_equal(p.value, before[n])
        assert np.any(p.grad != 0)                       # the gradient is still computed
    model.unfreeze()
    model[3].freeze()                                    # train all but the mel filterbank
    model(y)
    model.backward(np.ones_like(out))
    SGD(model.named_parameters(), lr=0.1).step()
    changed = {n: not np.array_equal(p.value, before[n]) for n, p in model.named_parameters()}
    assert changed == {"1.W_re": True, "1.W_im": True, "3.W": False, "5.W": True}


def test_mfcc_network_fine_tunes_end_to_end():
    """A classifier whose front end starts as MFCC: the loss decreases with Adam, and the
    front-end weights move."""
    rng = np.random.default_rng(0)
    sr, n = 8000, 40
    t = np.arange(1024) / sr
    labels = rng.integers(0, 2, n)
    f0 = np.where(labels == 0, 300.0, 1200.0) * rng.uniform(0.9, 1.1, n)
    X = np.sin(2 * np.pi * f0[:, None] * t) + 0.3 * rng.standard_normal((n, t.size))
    front = mf.MFCC(sr, n_mfcc=8, n_fft=128, hop_length=64, n_mels=16, trainable=True)
    model = Sequential(front, GlobalAvgPool(), Dense(8, 2, rng=0))
    start = front[3].W.copy()
    loss = SoftmaxCrossEntropy()
    opt = Adam(model.named_parameters(), lr=1e-3)
    losses = []
    for _ in range(15):
        losses.append(loss.forward(model(X), labels))
        model.backward(loss.backward())
        opt.step()
    assert losses[-1] < 0.8 * losses[0], losses
    assert not np.allclose(front[3].W, start)


# -- errors -------------------------------------------------------------------------------------
def test_clear_errors():
    with pytest.raises(ValueError, match="DFT.*2048"):
        mf.DFT(2048)(np.zeros((1024, 3)))
    with pytest.raises(ValueError, match="MelFilterbank.*1025"):
        mf.MelFilterbank()(np.zeros((513, 3)))
    with pytest.raises(ValueError, match="L >= 1"):
        mf.MFCC()(np.zeros(0))
    with pytest.raises(ValueError, match="shorter than n_fft"):
        mf.Frames(2048, 512, center=False)(np.zeros(100))
    with pytest.raises(ValueError, match="n_mfcc <= n_mels"):
        mf.MFCC(n_mfcc=40, n_mels=20)
    with pytest.raises(ValueError, match="amin"):
        mf.PowerToDb(amin=0)
    with pytest.raises(ValueError, match="window array"):
        mf.DFT(16, window=np.ones(8))


def test_magnitude_mel_spectrogram_equals_librosa():
    y = signal("harmonics", 9000)
    out = mf.MelSpectrogram(SR, n_fft=1024, hop_length=256, n_mels=32, power=1.0)(y)
    ref = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1024, hop_length=256, n_mels=32, power=1.0)
    assert rel_err(out, ref) <= TOL[np.float64]
    with pytest.raises(ValueError, match="power must be 1"):
        mf.MelSpectrogram(power=3)
