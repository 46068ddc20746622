"""mirkit: deep learning for music information retrieval, from scratch, in numpy.

The reference implementation of everything the course teaches. Later lessons import it, so a
student who got an earlier exercise wrong can still go on.

Modules, with the lesson folder that teaches each:

- ``signal`` and ``sounds``: lessons/00-audio-as-data
- ``nn``: lessons/01-artificial-neuron to lessons/05-convolution (``nn.metrics`` also
  lessons/07-classical-mir; the fast paths, same API, in ``nn.fast``)
- ``features``: lessons/06-descriptors-are-networks (fast paths in ``features.fast``)
- ``classical``: lessons/07-classical-mir
- ``augment``: lessons/08-data-augmentation
- ``deep``: lessons/09-keras
- ``challenge``: lessons/10-genre-challenge (the leaderboard client, the protocol, hand-in)
- ``chords``: lessons/11-chords-hmm
- ``similarity``: lessons/12-similarity-search
- ``datasets``: the GTZAN-style data every lesson from lessons/04-classification on uses
- ``check``, ``widgets``: the visible tests that talk and the sliders that also run headless
"""
__version__ = "0.1.0"
