"""Chord recognition with chroma, triad templates and an HMM decoded by Viterbi (lessons/11-chords-hmm).

The chain, frame by frame (chroma ``X`` of shape (12, T), one column per frame):

1. **templates**: each of the 24 major/minor triads is a binary pitch-class vector ``t_k``
   (1 on its three notes), scaled to unit norm: ``T`` of shape (24, 12);
2. **template matching**: the cosine similarity ``S[k, t] = t_k . x_t / ||x_t||``, shape
   (24, T); the frame-wise guess is ``argmax_k S[k, t]`` -- noisy, it flickers;
3. **an HMM** whose hidden states are the chords: a transition matrix ``A`` (K, K) that
   favours staying on the same chord, ``A[i, i] = p``, ``A[i, j] = (1 - p) / (K - 1)``, and
   emission scores ``B[k, t] = softmax_k(beta * S[:, t])`` (a similarity turned into a
   distribution over chords);
4. **Viterbi**: the single most likely chord sequence, by dynamic programming in log space::

       delta_0(j) = log pi_j + log B[j, 0]
       delta_t(j) = max_i [delta_{t-1}(i) + log A[i, j]] + log B[j, t]
       psi_t(j)   = argmax_i [delta_{t-1}(i) + log A[i, j]]

   then back-tracking from ``argmax_j delta_{T-1}(j)``. Cost O(T K^2) instead of the K^T paths
   a brute-force search would score (:func:`viterbi_brute_force`, for checking on tiny cases).

Labels follow ``mir_eval``'s syntax (``"C:maj"``, ``"A:min"``, ``"N"`` for no chord), so
``mir_eval.chord.evaluate`` scores the result against the dataset's annotations
(:func:`mirkit.datasets.read_chords`).
"""
from __future__ import annotations

import numpy as np

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
QUALITIES = {"maj": (0, 4, 7), "min": (0, 3, 7)}
CHORD_LABELS = tuple(f"{pc}:{q}" for q in QUALITIES for pc in PITCH_CLASSES)  # 12 major, then 12 minor


def triad_templates() -> np.ndarray:
    """The 24 triad templates, (24, 12): row k is 1 on the notes of ``CHORD_LABELS[k]``, unit L2 norm.

    Row 0 is C:maj = C, E, G (pitch classes 0, 4, 7); row 12 is C:min = C, Eb, G (0, 3, 7);
    the other rows are the same patterns rolled to their root.
    """
    rows = [np.isin(np.arange(12), [(root + i) % 12 for i in QUALITIES[q]]).astype(float)
            for q in QUALITIES for root in range(12)]
    T = np.array(rows)
    return T / np.linalg.norm(T, axis=1, keepdims=True)


def _check_chroma(chroma) -> np.ndarray:
    X = np.asarray(chroma, dtype=float)
    if X.ndim != 2 or X.shape[0] != 12:
        raise ValueError(f"chroma must have shape (12, T), one column per frame; got {X.shape}"
                         + (" (transpose it?)" if X.ndim == 2 and X.shape[1] == 12 else ""))
    return X


def template_similarity(chroma, templates=None) -> np.ndarray:
    """Cosine similarity of each frame with each template: (12, T) -> (K, T), values in [0, 1].

    ``S[k, t] = t_k . x_t / ||x_t||`` (templates already have unit norm); a silent frame
    (||x_t|| = 0) gets similarity 0 with every chord.
    """
    X = _check_chroma(chroma)
    T = triad_templates() if templates is None else np.asarray(templates, dtype=float)
    norms = np.linalg.norm(X, axis=0)
    return (T @ X) / np.where(norms > 0, norms, 1.0)


def transition_matrix(n_states: int, p_stay: float) -> np.ndarray:
    """Row-stochastic (K, K) matrix: ``p_stay`` on the diagonal, ``(1 - p_stay) / (K - 1)`` elsewhere.

    A[i, j] = P(chord j at frame t+1 | chord i at frame t). With frames of ~23 ms and chords
    that last seconds, staying is by far the likeliest move: p_stay close to 1 smooths more.
    """
    if int(n_states) != n_states or n_states < 2:
        raise ValueError(f"n_states must be an integer >= 2, got {n_states!r}")
    if not 0.0 <= p_stay <= 1.0:
        raise ValueError(f"p_stay is a probability, in [0, 1]; got {p_stay}")
    n = int(n_states)
    A = np.full((n, n), (1.0 - p_stay) / (n - 1))
    np.fill_diagonal(A, p_stay)
    return A


def emission_probabilities(similarity, beta: float = 20.0) -> np.ndarray:
    """``B[k, t] = exp(beta S[k, t]) / sum_j exp(beta S[j, t])``: (K, T), each column sums to 1.

    beta sets how much the HMM trusts the chroma: large beta is close to frame-wise argmax,
    small beta leaves the decision to the transitions.
    """
    z = beta * np.asarray(similarity, dtype=float)
    z = z - z.max(axis=0, keepdims=True)  # stable softmax
    e = np.exp(z)
    return e / e.sum(axis=0, keepdims=True)


def _safe_log(p) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(p, dtype=float))


def viterbi(log_emission, log_transition, log_initial=None) -> np.ndarray:
    """The most likely state path, in log space: (K, T), (K, K), (K,) -> (T,) int.

    log_emission[k, t] = log P(observation t | state k); log_transition[i, j] = log A[i, j];
    log_initial[k] = log pi_k (uniform when None). Ties go to the lowest state index.
    """
    logB = np.asarray(log_emission, dtype=float)
    logA = np.asarray(log_transition, dtype=float)
    if logB.ndim != 2:
        raise ValueError(f"log_emission must be (K, T), got shape {logB.shape}")
    K, T = logB.shape
    if T == 0:
        raise ValueError("log_emission has no frame (shape (K, 0)): there is no path to decode")
    if logA.shape != (K, K):
        raise ValueError(f"log_transition must be ({K}, {K}) for {K} states, got {logA.shape}")
    log_pi = np.full(K, -np.log(K)) if log_initial is None else np.asarray(log_initial, dtype=float)
    if log_pi.shape != (K,):
        raise ValueError(f"log_initial must have shape ({K},), got {log_pi.shape}")
    delta = log_pi + logB[:, 0]
    psi = np.zeros((T, K), dtype=int)
    for t in range(1, T):
        scores = delta[:, None] + logA  # scores[i, j]: best path ending in i, then i -> j
        psi[t] = np.argmax(scores, axis=0)
        delta = scores[psi[t], np.arange(K)] + logB[:, t]
    path = np.empty(T, dtype=int)
    path[-1] = int(np.argmax(delta))
    for t in range(T - 1, 0, -1):
        path[t - 1] = psi[t, path[t]]
    return path


def path_log_probability(path, log_emission, log_transition, log_initial=None) -> float:
    """log P(path, observations) = log pi_{s0} + sum_t log B[s_t, t] + sum_t log A[s_{t-1}, s_t]."""
    logB, logA = np.asarray(log_emission, float), np.asarray(log_transition, float)
    K = logB.shape[0]
    log_pi = np.full(K, -np.log(K)) if log_initial is None else np.asarray(log_initial, float)
    s = np.asarray(path)
    return float(log_pi[s[0]] + logB[s, np.arange(len(s))].sum() + logA[s[:-1], s[1:]].sum())


def viterbi_brute_force(log_emission, log_transition, log_initial=None) -> np.ndarray:
    """Score all K^T paths and keep the best (K^T <= 200000): the reference for tiny cases."""
    from itertools import product

    K, T = np.shape(log_emission)
    if K ** T > 200_000:
        raise ValueError(f"{K}^{T} paths is too many to enumerate; use viterbi()")
    best, best_score = None, -np.inf
    for path in product(range(K), repeat=T):  # lexicographic: ties keep the first, like viterbi()
        score = path_log_probability(path, log_emission, log_transition, log_initial)
        if score > best_score + 1e-12:
            best, best_score = path, score
    return np.array(best, dtype=int)


def frames_to_segments(path, frame_times, end_time: float, labels=CHORD_LABELS):
    """Frame states -> chord segments: (T,) ints and (T,) frame start times -> ((n, 2), [labels]).

    A segment starts where the state changes; the last one ends at ``end_time`` (the clip's
    duration), as ``mir_eval`` expects intervals that cover the clip.
    """
    path, times = np.asarray(path), np.asarray(frame_times, dtype=float)
    if path.shape != times.shape:
        raise ValueError(f"path {path.shape} and frame_times {times.shape} must have the same shape")
    starts = np.flatnonzero(np.r_[True, path[1:] != path[:-1]])
    bounds = np.r_[times[starts], end_time]
    intervals = np.stack([bounds[:-1], bounds[1:]], axis=1)
    return intervals, [labels[path[i]] for i in starts]


def labels_at(times, intervals, labels, fill: str = "N") -> list[str]:
    """The label in force at each time: (T,) times, (n, 2) intervals, n labels -> T labels."""
    times, iv = np.asarray(times, dtype=float), np.asarray(intervals, dtype=float)
    idx = np.searchsorted(iv[:, 0], times, side="right") - 1
    inside = (idx >= 0) & (times < iv[np.clip(idx, 0, None), 1])
    return [labels[i] if ok else fill for i, ok in zip(idx, inside)]


def frame_accuracy(estimated, reference) -> float:
    """Fraction of frames whose estimated label equals the reference label (frames where the
    reference is "N" are left out: there is no chord to find)."""
    est, ref = np.asarray(estimated), np.asarray(reference)
    if est.shape != ref.shape:
        raise ValueError(f"{est.shape} estimated labels for {ref.shape} reference labels")
    keep = ref != "N"
    return float(np.mean(est[keep] == ref[keep])) if keep.any() else float("nan")


def decode(chroma, p_stay: float = 0.9, beta: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """The whole chain: chroma (12, T) -> (frame-wise argmax path, Viterbi path), both (T,)."""
    S = template_similarity(chroma)
    framewise = np.argmax(S, axis=0)
    logB = _safe_log(emission_probabilities(S, beta))
    logA = _safe_log(transition_matrix(S.shape[0], p_stay))
    return framewise, viterbi(logB, logA)
