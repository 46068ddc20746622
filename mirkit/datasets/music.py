"""Music-theory building blocks for the synthetic genres: chords, scales, a score with swing.

Times are in beats (a quarter note = 1 beat); :class:`Score` converts them to seconds with
the tempo, the swing ratio (where the off-beat eighth falls: 0.5 straight, 0.67 triplet
swing) and a little human timing error, then builds a ``pretty_midi.PrettyMIDI`` object.
"""
import numpy as np
# imported here, at package import, not lazily inside a call: mido (under pretty_midi) fails to
# import while a warnings-recording context is active ("dictionary changed size during iteration")
import pretty_midi

# chord qualities as semitones above the root
CHORDS = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "sus4": (0, 5, 7),
    "5": (0, 7, 12), "6": (0, 4, 7, 9), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10), "m7b5": (0, 3, 6, 10), "9": (0, 4, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14), "m9": (0, 3, 7, 10, 14), "13": (0, 4, 10, 14, 21),
}
# what a jazz musician plays instead of the plain triad
EXTEND = {"maj": "maj9", "min": "m9", "7": "13", "maj7": "maj9", "m7": "m9", "6": "maj9"}
SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10), "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "harmonic": (0, 2, 3, 5, 7, 8, 11), "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "pent_major": (0, 2, 4, 7, 9), "pent_minor": (0, 3, 5, 7, 10), "blues": (0, 3, 5, 6, 7, 10),
}
# General MIDI percussion keys (channel 10)
KICK, SIDESTICK, SNARE, CLAP, CLOSED_HH, PEDAL_HH, OPEN_HH = 36, 37, 38, 39, 42, 44, 46
LOW_TOM, MID_TOM, HIGH_TOM, CRASH, RIDE, RIDE_BELL, TAMBOURINE, COWBELL, SHAKER = (
    45, 47, 50, 49, 51, 53, 54, 56, 70)


def chord_tones(root, quality):
    """Pitch-class-free chord: MIDI pitches of ``quality`` above the MIDI pitch ``root``."""
    return [root + i for i in CHORDS[quality]]


def voicing(root_pc, quality, low=52, high=76, rootless=False):
    """Close voicing of a chord placed in [low, high] (MIDI), optionally without its root."""
    intervals = CHORDS[quality][1:] if rootless else CHORDS[quality]
    base = low + (root_pc - low) % 12
    notes = sorted(base + i for i in intervals)
    while notes[-1] > high and notes[0] - 12 >= low - 6:
        notes = [n - 12 for n in notes]
    return notes


def scale_pitches(key_pc, scale, low, high):
    """All MIDI pitches of ``scale`` on ``key_pc`` between ``low`` and ``high``."""
    steps = SCALES[scale]
    return [p for p in range(low, high + 1) if (p - key_pc) % 12 in steps]


class Score:
    """A multi-part score in beats. ``add(part, start, dur, pitch, vel)``; ``to_midi()``."""

    def __init__(self, tempo, swing=0.5, beats_per_bar=4, humanize=0.0, rng=None, swing_unit=1.0):
        self.tempo, self.swing, self.beats_per_bar = tempo, swing, beats_per_bar
        self.humanize, self.swing_unit = humanize, swing_unit
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.parts = {}  # name -> {"program", "is_drum", "notes": [(start, dur, pitch, vel)]}

    def part(self, name, program, is_drum=False):
        self.parts.setdefault(name, {"program": int(program), "is_drum": is_drum, "notes": []})

    def add(self, part, start, dur, pitch, vel=90):
        if 0 <= pitch <= 127:
            self.parts[part]["notes"].append((start, dur, int(pitch), int(np.clip(vel, 1, 127))))

    def seconds(self, beat):
        """Beat -> seconds, with swing: the off-beat of each swing unit moves from 0.5 to ``swing``."""
        u = self.swing_unit
        whole, frac = np.divmod(beat / u, 1.0)
        s = self.swing
        frac = np.where(frac < 0.5, frac * s / 0.5, s + (frac - 0.5) * (1 - s) / 0.5)
        return (whole + frac) * u * 60.0 / self.tempo

    def to_midi(self):
        pm = pretty_midi.PrettyMIDI(initial_tempo=float(self.tempo))
        for name, p in self.parts.items():
            inst = pretty_midi.Instrument(program=p["program"], is_drum=p["is_drum"], name=name)
            for start, dur, pitch, vel in p["notes"]:
                t0 = float(self.seconds(start)) + self.rng.normal(0, self.humanize)
                t1 = float(self.seconds(start + dur))
                t0 = max(t0, 0.0)
                inst.notes.append(pretty_midi.Note(vel, pitch, t0, max(t1, t0 + 0.03)))
            pm.instruments.append(inst)
        return pm
