"""mirkit.augment: label-preserving data augmentation.

Lesson: lessons/08-data-augmentation.

Plain functions on waveforms of shape (T,) in :mod:`.transforms` (gain, time shift, pitch
shift, time stretch, biquad EQ, compression, degradation, noise at a target SNR, reverb),
SpecAugment masks on spectrograms (..., F, T) in :mod:`.specaugment`, biquad design in
:mod:`.filters`, and seeded random pipelines in :mod:`.pipeline`.
"""
from .filters import biquad, frequency_response_db
from .pipeline import (EQ, Compose, Compress, Degrade, Gain, Noise, OneOf, PitchShift,
                       RandomTransform, Reverb, TimeShift, TimeStretch, default_pipeline)
from .specaugment import freq_mask, spec_augment, time_mask
from .transforms import (add_noise, bit_depth, clip, colored_noise, compress, degrade, eq, gain,
                         lowpass, normalize_rms, pitch_shift, reverb, resample_degrade, rms_db,
                         room_ir, time_shift, time_stretch)
