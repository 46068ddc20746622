"""Render General-MIDI arrangements to audio with real sampled instruments.

An arrangement is a ``pretty_midi.PrettyMIDI`` object (notes, GM programs, a drum part). We
play it through TinySoundFont (``tinysoundfont``, a small C sample player) with the General
MIDI SoundFont shipped inside the ``pretty_midi`` wheel (``TimGM6mb.sf2``, 6 MB, 128
instruments and several drum kits), offline, without an audio device. Nothing is downloaded.
"""
import functools
import os

import numpy as np

DRUM_CHANNEL = 9


def soundfont_path():
    """Path of the GM SoundFont that ships with pretty_midi (``TimGM6mb.sf2``)."""
    import pretty_midi

    path = os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")
    if not os.path.exists(path):
        raise FileNotFoundError(f"the General MIDI SoundFont was not found at {path}; "
                                "reinstall pretty_midi (pip install --force-reinstall pretty_midi)")
    return path


@functools.lru_cache(maxsize=None)
def _soundfont_bytes():
    with open(soundfont_path(), "rb") as f:
        return f.read()


def render(pm, sr=22050, duration=None, volumes=None):
    """Render a PrettyMIDI object to a mono float64 waveform of shape (round(duration * sr),).

    Each instrument gets its own MIDI channel (the drum part channel 9, with the drum kit
    given by its ``program``: 0 standard, 8 room, 16 power, 24 electronic, 25 TR-808,
    32 jazz, 40 brush). ``volumes`` optionally maps an instrument index to a MIDI channel
    volume 0-127 (the mix).
    """
    import tinysoundfont

    duration = pm.get_end_time() if duration is None else duration
    n_total = int(round(duration * sr))
    synth = tinysoundfont.Synth(samplerate=sr, gain=-6.0)
    sfid = synth.sfload(_soundfont_bytes(), max_voices=128)
    events = []  # (time, order, kind, channel, key, velocity): note-offs sort before note-ons
    melodic = [c for c in range(16) if c != DRUM_CHANNEL]
    for i, inst in enumerate(pm.instruments):
        if inst.is_drum:
            chan = DRUM_CHANNEL
            synth.program_select(chan, sfid, 128, inst.program, is_drums=True)
        else:
            if not melodic:
                raise ValueError("too many instruments: General MIDI has 15 melodic channels")
            chan = melodic.pop(0)
            synth.program_select(chan, sfid, 0, inst.program)
        if volumes is not None and i in volumes:
            synth.control_change(chan, 7, int(np.clip(volumes[i], 0, 127)))
        for note in inst.notes:
            if note.start < duration:
                events.append((note.start, 1, "on", chan, note.pitch, note.velocity))
                events.append((min(note.end, duration), 0, "off", chan, note.pitch, 0))
    events.sort(key=lambda e: (e[0], e[1]))
    out = np.zeros((n_total, 2), dtype=np.float32)
    pos = 0
    for t, _, kind, chan, key, vel in events:
        k = min(int(round(t * sr)), n_total)
        if k > pos:
            out[pos:k] = _generate(synth, k - pos)
            pos = k
        if kind == "on":
            synth.noteon(chan, key, vel)
        else:
            synth.noteoff(chan, key)
    if pos < n_total:
        out[pos:] = _generate(synth, n_total - pos)
    return out.mean(axis=1).astype(np.float64)


def _generate(synth, n):
    buf = synth.generate_simple(n)
    return np.frombuffer(buf, dtype=np.float32).reshape(n, 2)
