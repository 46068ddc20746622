"""mirkit.chords (lessons/11-chords-hmm): templates, matching, HMM, Viterbi against references."""
import librosa
import mir_eval
import numpy as np
import pytest

from mirkit import chords as C


def test_templates_are_the_24_triads_in_mir_eval_syntax():
    T = C.triad_templates()
    assert T.shape == (24, 12)
    np.testing.assert_allclose(np.linalg.norm(T, axis=1), 1.0)
    for k, label in enumerate(C.CHORD_LABELS):
        root, bitmap, _ = mir_eval.chord.encode(label)
        expected = np.roll(bitmap, root).astype(float)
        np.testing.assert_allclose(T[k] > 0, expected > 0, err_msg=label)


def test_matching_finds_a_clean_triad_and_silence_is_zero():
    X = np.zeros((12, 3))
    X[[7, 11, 2], 0] = 1.0  # G B D
    X[[9, 0, 4], 1] = [2.0, 1.0, 1.0]  # A C E, root louder
    S = C.template_similarity(X)
    assert C.CHORD_LABELS[S[:, 0].argmax()] == "G:maj"
    assert C.CHORD_LABELS[S[:, 1].argmax()] == "A:min"
    np.testing.assert_allclose(S[:, 2], 0.0)
    with pytest.raises(ValueError, match="transpose"):
        C.template_similarity(X.T)


def test_transition_matrix_is_row_stochastic_and_checks_its_input():
    A = C.transition_matrix(24, 0.9)
    np.testing.assert_allclose(A.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.diag(A), 0.9)
    assert A[0, 1] == pytest.approx(0.1 / 23)
    with pytest.raises(ValueError, match="probability"):
        C.transition_matrix(24, 1.5)
    with pytest.raises(ValueError, match="integer >= 2"):
        C.transition_matrix(1, 0.5)


@pytest.mark.parametrize("seed", range(8))
def test_viterbi_equals_brute_force_on_tiny_cases(seed):
    rng = np.random.default_rng(seed)
    K, T = 3, 6
    B = rng.dirichlet(np.ones(K), size=T).T
    A = rng.dirichlet(np.ones(K) * 0.7, size=K)
    pi = rng.dirichlet(np.ones(K))
    args = (np.log(B), np.log(A), np.log(pi))
    path = C.viterbi(*args)
    np.testing.assert_array_equal(path, C.viterbi_brute_force(*args))
    assert C.path_log_probability(path, *args) >= C.path_log_probability(rng.integers(0, K, T), *args)


def test_viterbi_equals_librosa_on_a_real_sized_case():
    rng = np.random.default_rng(0)
    K, T = 24, 400
    S = rng.random((K, T))
    B = C.emission_probabilities(S, beta=8.0)
    A = C.transition_matrix(K, 0.95)
    ours = C.viterbi(np.log(B), np.log(A))
    ref = librosa.sequence.viterbi(B, A, p_init=np.full(K, 1 / K))
    np.testing.assert_array_equal(ours, ref)


def test_viterbi_survives_zero_probabilities_and_rejects_bad_shapes():
    A = C.transition_matrix(3, 1.0)  # never change state: log 0 = -inf off the diagonal
    B = np.array([[0.9, 0.1, 0.1], [0.1, 0.8, 0.8], [0.0, 0.1, 0.1]])
    path = C.viterbi(C._safe_log(B), C._safe_log(A))
    assert len(set(path)) == 1
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        C.viterbi(np.zeros((3, 5)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="no frame"):
        C.viterbi(np.zeros((3, 0)), np.zeros((3, 3)))
    assert C.viterbi(np.log([[0.2], [0.7], [0.1]]), np.zeros((3, 3))).tolist() == [1]  # one frame: its argmax


def test_segments_and_labels_round_trip_and_score_with_mir_eval():
    times = np.arange(10) * 0.5
    path = np.array([0, 0, 0, 21, 21, 21, 21, 7, 7, 7])
    iv, labels = C.frames_to_segments(path, times, end_time=5.0)
    np.testing.assert_allclose(iv, [[0, 1.5], [1.5, 3.5], [3.5, 5.0]])
    assert labels == ["C:maj", "A:min", "G:maj"]
    assert C.labels_at(times, iv, labels) == [C.CHORD_LABELS[s] for s in path]
    scores = mir_eval.chord.evaluate(iv, labels, iv, labels)
    assert scores["majmin"] == pytest.approx(1.0)
    est = [C.CHORD_LABELS[s] for s in np.r_[path[:5], [0] * 5]]
    assert C.frame_accuracy(est, [C.CHORD_LABELS[s] for s in path]) == pytest.approx(0.5)


def test_hmm_smooths_a_noisy_chroma():
    rng = np.random.default_rng(3)
    truth = np.repeat([0, 17, 5, 7], 40)  # C:maj, F:min, F:maj, G:maj, 40 frames each
    X = C.triad_templates()[truth].T + 1.0 * rng.random((12, truth.size))
    framewise, smooth = C.decode(X, p_stay=0.97, beta=15)
    acc = lambda p: np.mean(p == truth)
    assert acc(framewise) < 0.8, "the test needs noise that fools frame-wise matching"
    assert acc(smooth) > 0.95
    assert np.count_nonzero(np.diff(smooth)) < np.count_nonzero(np.diff(framewise))
