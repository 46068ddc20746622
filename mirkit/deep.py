"""Deep learning with Keras on log-mel chunks: chunking, track decisions, normalisation, a CNN.

Lesson ``lessons/09-keras`` teaches every function here; ``lessons/10-genre-challenge`` uses
them. Keras is imported inside the functions that need it, so ``import mirkit.deep`` is light.

The pipeline of the lesson, with mirkit's layout (channels first, time last, as librosa)::

    S = log_mel(y, sr)                        # (F, T) one track, dB
    X, track = chunk_tracks([S1, S2, ...], size=64)   # (M, F, 64) chunks, (M,) source track
    mean, std = normalisation_stats(X_train)  # (F, 1) each: per mel band, training chunks only
    model = build_cnn((F, 64), n_classes=10)  # Keras model: (N, F, T) -> (N, 10) probabilities
    P = model.predict(normalise(X, mean, std))          # (M, 10) chunk (local) decisions
    labels = track_decision(P, track, "mean")            # (n_tracks,) global decisions

A chunk is a fixed-length piece of a track's log-mel: the network sees fixed-size inputs, a
track gives many training examples, and the track's decision aggregates the chunks' (the
lecture's local vs global decision).
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["log_mel", "log_mels", "chunk", "chunk_tracks", "aggregate", "track_decision",
           "normalisation_stats", "normalise", "build_cnn", "mirkit_to_keras", "progress_bar",
           "FILTER_SHAPES", "POOLINGS"]

# filter_shape of build_cnn -> kernel (frequency, time) of every conv layer (lecture: musically
# motivated filter shapes). Time-wide filters see rhythm and onsets in a few bands; tall
# filters see timbre and chords (a spectral envelope) in one frame; square ones a bit of both.
FILTER_SHAPES = {"square": (3, 3), "time": (1, 7), "frequency": (7, 1)}
POOLINGS = ("mean", "max", "meanmax", "gru", "lstm")


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    return keras


# -- features ---------------------------------------------------------------------------------
def log_mel(y, sr=22050, n_mels=64, n_fft=1024, hop_length=512, top_db=80.0):
    """Log-mel spectrogram of one signal, in dB: (L,) -> (n_mels, T), T = 1 + L // hop_length.

    S = 10 log10(max(1e-10, mel @ |STFT|^2)), clipped at max(S) - top_db (librosa's
    ``power_to_db(melspectrogram(...), ref=1.0)``). A ``ds.features`` extractor (signature
    ``(y, sr, **params)``), so it is computed once and cached. ``lessons/09-keras`` (as a network: ``lessons/06-descriptors-are-networks``).
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"log_mel: expected one mono signal of shape (L,), got shape {y.shape}")
    M = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=n_fft, hop_length=hop_length,
                                       n_mels=n_mels, power=2.0)
    return librosa.power_to_db(M, ref=1.0, top_db=top_db).astype(np.float32)


def log_mels(ds, cache="auto", progress=True, **params):
    """:func:`log_mel` of every track of a Dataset, stacked: (N, n_mels, T) (tracks of one length).

    cache: "auto" (under ``mirkit.datasets.data_root()/cache``, shared by every lesson and
    run), a folder, or None. params: passed to :func:`log_mel` (n_mels, n_fft, hop_length).
    A cache that cannot be written is not an error: the features are computed without it.
    """
    if cache == "auto":
        from .datasets import data_root

        cache = data_root() / "cache"
    try:
        return ds.features(log_mel, cache=cache, progress=progress, **params)
    except OSError as exc:
        if cache is None:
            raise
        import warnings

        warnings.warn(f"feature cache {cache} failed ({exc}): computing without it", stacklevel=2)
        return ds.features(log_mel, cache=None, progress=progress, **params)


# -- chunks -----------------------------------------------------------------------------------
def chunk(x, size, hop=None, pad=False):
    """Cut the last (time) axis of ``x`` into chunks: (..., T) -> (n_chunks, ..., size).

    Chunk i is x[..., i*hop : i*hop + size]; n_chunks = 1 + (T - size) // hop, so the frames
    after the last whole chunk are dropped (at most hop - 1 of them). hop defaults to size (no
    overlap); hop < size overlaps. A log-mel (F, T) gives (n_chunks, F, size); a signal (L,)
    gives (n_chunks, size).
    pad: what to do when T < size: False raises a ValueError; True repeats the track
    (wrap-around) up to ``size`` frames, giving one chunk (repeating keeps the level and
    texture of the music, where zeros would add a silence the training data never had).
    Lesson ``lessons/09-keras``.
    """
    x = np.asarray(x)
    if x.ndim < 1:
        raise ValueError("chunk: expected an array with a time axis (..., T), got a scalar")
    size = _positive_int(size, "size")
    hop = size if hop is None else _positive_int(hop, "hop")
    T = x.shape[-1]
    if T == 0:
        raise ValueError(f"chunk: the input has no frames (shape {x.shape}); is the track empty?")
    if T < size:
        if not pad:
            raise ValueError(f"chunk: the input has {T} frames, fewer than size={size}: use a "
                             f"smaller size, a longer track, or pad=True (repeats the track)")
        x = np.take(x, np.arange(size) % T, axis=-1)
        T = size
    n = 1 + (T - size) // hop
    starts = hop * np.arange(n)
    idx = starts[:, None] + np.arange(size)[None, :]               # (n, size)
    out = np.take(x, idx, axis=-1)                                 # (..., n, size)
    return np.ascontiguousarray(np.moveaxis(out, -2, 0))


def chunk_tracks(tracks, size, hop=None, labels=None, pad=False):
    """Chunk every track and stack: list of (..., T_i) -> X (M, ..., size), track (M,)[, y (M,)].

    track[m] is the index (in ``tracks``) of the track chunk m comes from, the key that
    :func:`aggregate` uses to go back from chunks to tracks; labels (n_tracks,) or
    (n_tracks, K) are repeated per chunk (y[m] = labels[track[m]]). size, hop, pad: as
    :func:`chunk`. Lesson ``lessons/09-keras``.
    """
    if len(tracks) == 0:
        raise ValueError("chunk_tracks: no tracks given")
    pieces = [chunk(t, size, hop, pad) for t in tracks]
    shapes = sorted({p.shape[1:] for p in pieces})
    if len(shapes) > 1:
        raise ValueError(f"chunk_tracks: tracks differ in their non-time axes {shapes[:3]}: "
                         "compute every log-mel with the same n_mels")
    X = np.concatenate(pieces)
    track = np.repeat(np.arange(len(pieces)), [len(p) for p in pieces])
    if labels is None:
        return X, track
    labels = np.asarray(labels)
    if len(labels) != len(tracks):
        raise ValueError(f"chunk_tracks: {len(tracks)} tracks but {len(labels)} labels")
    return X, track, labels[track]


# -- from chunk decisions to track decisions --------------------------------------------------
def aggregate(P, track, method="mean", n_tracks=None):
    """Track scores from chunk scores: P (M, K), track (M,) -> S (n_tracks, K).

    method="mean": S[j] = mean of P[m] over the chunks m of track j (average probabilities);
    method="vote": S[j, k] = fraction of the chunks of track j whose argmax is k (majority
    vote: each chunk gives one vote; a confident chunk counts no more than a hesitant one).
    n_tracks defaults to track.max() + 1; a track with no chunk is an error.
    Lesson ``lessons/09-keras`` (the lecture's local vs global decision).
    """
    P = np.asarray(P, dtype=np.float64)
    track = np.asarray(track)
    if P.ndim != 2:
        raise ValueError(f"aggregate: expected chunk scores of shape (M, K), got {P.shape}")
    if track.shape != (len(P),):
        raise ValueError(f"aggregate: expected one track index per chunk, shape ({len(P)},), "
                         f"got {track.shape}")
    if not np.issubdtype(track.dtype, np.integer) or (track.size and track.min() < 0):
        raise ValueError("aggregate: track must hold non-negative integer track indices "
                         "(what chunk_tracks returns)")
    if len(track) == 0:
        raise ValueError("aggregate: no chunks given (P and track are empty)")
    n_tracks = int(track.max()) + 1 if n_tracks is None else int(n_tracks)
    if track.max() >= n_tracks:
        raise ValueError(f"aggregate: track index {int(track.max())} is out of range for "
                         f"n_tracks={n_tracks}")
    counts = np.bincount(track, minlength=n_tracks)
    if np.any(counts == 0):
        missing = np.flatnonzero(counts == 0)
        raise ValueError(f"aggregate: tracks {missing[:5].tolist()} have no chunk: every track "
                         "needs at least one (chunk it with pad=True if it is short)")
    if method == "mean":
        votes = P
    elif method == "vote":
        votes = np.eye(P.shape[1])[P.argmax(axis=1)]
    else:
        raise ValueError(f"aggregate: method must be 'mean' or 'vote', got {method!r}")
    S = np.zeros((n_tracks, P.shape[1]))
    np.add.at(S, track, votes)
    return S / counts[:, None]


def track_decision(P, track, method="mean", n_tracks=None):
    """Track labels (n_tracks,) from chunk scores P (M, K): argmax of :func:`aggregate`.

    For a vote tie, the class with the highest mean probability among the tied ones wins
    (rather than the lowest class index, which would favour class 0).
    """
    S = aggregate(P, track, method, n_tracks)
    if method == "vote":
        tied = S == S.max(axis=1, keepdims=True)
        S = np.where(tied, aggregate(P, track, "mean", len(S)), -np.inf)
    return S.argmax(axis=1)


# -- input normalisation ----------------------------------------------------------------------
def normalisation_stats(X, per_band=True, eps=1e-6):
    """Mean and standard deviation of training inputs X (M, F, T) (or (M, F, T) chunks).

    per_band=True: one value per frequency band (statistics over chunks and time), shapes
    (F, 1) each: low bands are louder than high bands, and each band gets the same scale.
    per_band=False: one scalar each (shape (1, 1)). std is at least eps (a silent band).
    Compute them on the training set only, then apply to every set with :func:`normalise`.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise ValueError(f"normalisation_stats: expected chunks of shape (M, F, T), got {X.shape}")
    axes = (0, 2) if per_band else (0, 1, 2)
    mean = X.mean(axis=axes).reshape(-1, 1)
    std = np.maximum(X.std(axis=axes), eps).reshape(-1, 1)
    return mean.astype(np.float32), std.astype(np.float32)


def normalise(X, mean, std):
    """(X - mean) / std, broadcast over the chunks: (M, F, T) -> (M, F, T), float32."""
    return ((np.asarray(X, dtype=np.float32) - mean) / std).astype(np.float32)


# -- the Keras CNN ----------------------------------------------------------------------------
def build_cnn(input_shape, n_classes=10, filters=(16, 32, 64), filter_shape="square",
              pooling="mean", rnn_units=32, dropout=0.3, multilabel=False, learning_rate=1e-3,
              compile=True, seed=0, name=None):
    """A small CNN on log-mel chunks: (N, F, T) -> (N, n_classes) probabilities. Keras 3.

    input_shape: (F, T), mirkit's layout (frequency, time); T may be None (any length: the
        temporal pooling makes the output independent of T).
    Per conv block b (filters[b] channels): Conv2D kernel ``filter_shape`` ("square" (3, 3),
        "time" (1, 7) wide in time, "frequency" (7, 1) tall in frequency, see FILTER_SHAPES;
        or a (kf, kt) pair), "same" padding, BatchNorm, ReLU, MaxPool (2, 2) (frequency and
        time halve). Then each frame t's features are the (F', C) map flattened:
        (N, T', F' C), a sequence.
    pooling (temporal pooling, over T'): "mean" h = mean_t z_t, "max" h = max_t z_t,
        "meanmax" both concatenated, "gru"/"lstm" a recurrent layer (``rnn_units``) read over
        the frames, h = its last state (the lecture's recurrent alternative to pooling).
    Then Dropout(dropout) and Dense(n_classes): softmax (one genre) or, multilabel=True,
    sigmoid (independent tags).
    compile=True: Adam(learning_rate) with sparse categorical cross-entropy + accuracy, or
    binary cross-entropy (multilabel). seed: weight initialisation (keras.utils.set_random_seed
    is still needed for dropout and shuffling to repeat).
    Gradients: Keras differentiates the graph automatically -- the backward passes of
    ``lessons/02-backpropagation`` and ``lessons/05-convolution``, computed for us.
    Lesson ``lessons/09-keras``; ``lessons/10-genre-challenge`` trains it on the full preset.
    """
    keras = _keras()
    from keras import layers

    F, T = _shape2(input_shape)
    if isinstance(filter_shape, str):
        if filter_shape not in FILTER_SHAPES:
            raise ValueError(f"build_cnn: filter_shape must be one of {sorted(FILTER_SHAPES)} or a "
                             f"(frequency, time) pair, got {filter_shape!r}")
        kernel = FILTER_SHAPES[filter_shape]
    else:
        kernel = tuple(_positive_int(k, "filter_shape") for k in filter_shape)
        if len(kernel) != 2:
            raise ValueError(f"build_cnn: filter_shape pair must be (kf, kt), got {filter_shape!r}")
    if pooling not in POOLINGS:
        raise ValueError(f"build_cnn: pooling must be one of {POOLINGS}, got {pooling!r}")
    if len(filters) == 0 or F >> len(filters) < 1:
        raise ValueError(f"build_cnn: {len(filters)} blocks each halve the {F} bands: use fewer "
                         "blocks or more mel bands")
    if T is not None and T >> len(filters) < 1:
        raise ValueError(f"build_cnn: {len(filters)} blocks each halve the {T} frames: use "
                         "longer chunks or fewer blocks")
    init = lambda i: keras.initializers.HeUniform(seed=seed + i)  # noqa: E731

    x_in = keras.Input(shape=(F, T), name="log_mel")
    x = layers.Reshape((F, -1, 1) if T is None else (F, T, 1))(x_in)     # channels last for Keras
    for i, c in enumerate(filters):
        x = layers.Conv2D(c, kernel, padding="same", use_bias=False, kernel_initializer=init(i),
                          name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(name=f"bn{i + 1}")(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D((2, 2), name=f"pool{i + 1}")(x)
    Fp = F >> len(filters)
    x = layers.Permute((2, 1, 3))(x)                                     # (N, T', F', C)
    x = layers.Reshape((-1, Fp * filters[-1]), name="frames")(x)         # (N, T', F' C)
    if pooling == "mean":
        h = layers.GlobalAveragePooling1D(name="temporal_mean")(x)
    elif pooling == "max":
        h = layers.GlobalMaxPooling1D(name="temporal_max")(x)
    elif pooling == "meanmax":
        h = layers.Concatenate(name="temporal_meanmax")(
            [layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)])
    else:
        rnn = layers.GRU if pooling == "gru" else layers.LSTM
        h = rnn(rnn_units, name=pooling, kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
                recurrent_initializer=keras.initializers.Orthogonal(seed=seed))(x)
    h = layers.Dropout(dropout, seed=seed)(h)
    out = layers.Dense(n_classes, activation="sigmoid" if multilabel else "softmax",
                       kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 100),
                       name="tags" if multilabel else "classes")(h)
    shape_name = filter_shape if isinstance(filter_shape, str) else "custom"
    model = keras.Model(x_in, out, name=name or f"cnn_{shape_name}_{pooling}")
    if compile:
        loss = "binary_crossentropy" if multilabel else "sparse_categorical_crossentropy"
        metrics = [] if multilabel else ["accuracy"]
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)
    return model


def progress_bar(epochs, desc="training"):
    """A Keras callback that shows training as one tqdm bar (one step per epoch, with the
    last losses), instead of Keras' per-batch lines. Use ``model.fit(..., verbose=0,
    callbacks=[progress_bar(epochs)])``."""
    keras = _keras()
    from tqdm.auto import tqdm

    class _Bar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=epochs, desc=desc, unit="epoch")

        def on_epoch_end(self, epoch, logs=None):
            self.bar.update(1)
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in (logs or {}).items()
                                  if k in ("loss", "val_loss", "accuracy", "val_accuracy")})

        def on_train_end(self, logs=None):
            self.bar.close()

    return _Bar()


# -- the bridge: a mirkit.nn network as a Keras model -----------------------------------------
def mirkit_to_keras(model, input_shape):
    """The same network in Keras, with the mirkit weights copied: same inputs, same outputs.

    model: a :class:`mirkit.nn.Sequential` of Dense, Conv2D, MaxPool2D, AvgPool2D, BatchNorm,
    Flatten, GlobalAvgPool, GlobalMaxPool, ReLU, Sigmoid, Tanh, Softmax, Identity, Dropout.
    input_shape: one example's shape in mirkit's channels-first layout, (D,) or (C, F, T).
    The Keras model takes the same channels-first input. Keras' Conv2D wants channels last
    (and TensorFlow on a CPU only runs that), so the model transposes to (N, F, T, C) before
    the convolutions and back to (N, C, F', T') before a Flatten: both libraries then
    flatten in the same order, and Dense weights are copied unchanged (mirkit's W is (D_in,
    D_out) like Keras' kernel). Conv2D kernels are copied as W.transpose(2, 3, 1, 0)
    ((C_out, C_in, kh, kw) -> (kh, kw, C_in, C_out)). Lesson ``lessons/09-keras``.
    """
    keras = _keras()
    from keras import layers

    from . import nn

    x_in = keras.Input(shape=tuple(input_shape))
    x = layers.Permute((2, 3, 1))(x_in) if len(input_shape) == 3 else x_in   # 4-D: channels last
    copies = []                               # (keras layer, weights) to set once built
    for layer in model.layers:
        p = {k: v.value for k, v in layer.params.items()}
        if isinstance(layer, nn.Conv2D):
            if layer.stride != (1, 1) or layer.dilation != (1, 1) or layer.padding not in ("valid", "same"):
                raise ValueError("mirkit_to_keras: only Conv2D with stride 1, dilation 1 and "
                                 f"'valid' or 'same' padding, got {layer!r}")
            C_out, _, kh, kw = p["W"].shape
            k = layers.Conv2D(C_out, (kh, kw), padding=layer.padding)
            copies.append((k, [p["W"].transpose(2, 3, 1, 0), p["b"]]))
        elif isinstance(layer, (nn.MaxPool2D, nn.AvgPool2D)):
            cls = layers.MaxPooling2D if isinstance(layer, nn.MaxPool2D) else layers.AveragePooling2D
            k = cls(layer.pool_size, strides=layer.stride)
        elif isinstance(layer, nn.BatchNorm):
            k = layers.BatchNormalization(momentum=layer.momentum, epsilon=layer.eps)
            copies.append((k, [p["gamma"], p["beta"], p["running_mean"], p["running_var"]]))
        elif isinstance(layer, nn.Flatten):
            if len(x.shape) == 4:
                x = layers.Permute((3, 1, 2))(x)      # back to channels first, mirkit's order
            k = layers.Flatten()
        elif isinstance(layer, (nn.GlobalAvgPool, nn.GlobalMaxPool)):
            avg = isinstance(layer, nn.GlobalAvgPool)
            axes = layer._axes(len(x.shape))
            if len(x.shape) == 4 and axes == (2, 3):          # (N, C, F, T) -> (N, C)
                k = layers.GlobalAveragePooling2D() if avg else layers.GlobalMaxPooling2D()
            elif len(x.shape) == 3 and axes == (2,):          # (N, C, T) -> (N, C)
                k = (layers.GlobalAveragePooling1D(data_format="channels_first") if avg
                     else layers.GlobalMaxPooling1D(data_format="channels_first"))
            else:
                raise ValueError("mirkit_to_keras: global pooling is supported over (F, T) of "
                                 f"(N, C, F, T) maps or T of (N, C, T), got axis={layer.axis} "
                                 f"on a {len(x.shape)}-D input")
        elif isinstance(layer, nn.Dense):
            k = layers.Dense(p["W"].shape[1])
            copies.append((k, [p["W"], p["b"]]))
        elif isinstance(layer, (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.Softmax, nn.Identity)):
            name = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.Softmax: "softmax",
                    nn.Identity: "linear"}[type(layer)]
            k = layers.Activation(name)
        elif isinstance(layer, nn.Dropout):
            k = layers.Dropout(layer.p)
        else:
            raise ValueError(f"mirkit_to_keras: no Keras twin for {type(layer).__name__} here")
        x = k(x)
    out = x
    if len(out.shape) == 4:
        out = layers.Permute((3, 1, 2))(out)
    keras_model = keras.Model(x_in, out, name="from_mirkit")
    for k, weights in copies:
        k.set_weights([np.asarray(w, dtype="float32") for w in weights])
    return keras_model


# -- helpers ----------------------------------------------------------------------------------
def _positive_int(v, name):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be a positive integer (a number of frames), got {v!r}")
    return int(v)


def _shape2(input_shape):
    shape = tuple(input_shape)
    if len(shape) != 2:
        raise ValueError(f"build_cnn: input_shape must be (F, T) (mel bands, frames), got {shape}; "
                         "the batch axis is not part of it")
    F = _positive_int(shape[0], "input_shape[0] (mel bands)")
    T = None if shape[1] is None else _positive_int(shape[1], "input_shape[1] (frames)")
    return F, T
