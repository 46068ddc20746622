"""mirkit.features: classical audio descriptors written as neural networks.

MFCC, chroma and onset strength are stacks of layers -- linear maps (DFT, mel, chroma, DCT
matrices) and pointwise non-linearities (modulus, log, ReLU) -- that reproduce librosa and can
be trained end to end with :mod:`mirkit.nn`'s optimisers. Keras twins of the same stacks live in
:mod:`mirkit.features.keras_layers` (imported separately, as it imports Keras).

Lesson: lessons/06-descriptors-are-networks.
"""
from . import fast, filters
from .filters import chroma_filterbank, dct_matrix, dft_matrices, hz_to_mel, mel_filterbank, mel_to_hz
from .layers import (DCT, DFT, BandMean, ChromaFilterbank, Diff, FrameMatrix, FrameNorm, Frames,
                     Magnitude, MelFilterbank, OnsetAlign, Power, PowerToDb)
from .stacks import MFCC, Chroma, FeatureNetwork, LogMel, MelSpectrogram, OnsetStrength
