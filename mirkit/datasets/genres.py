"""The ten GTZAN genres as music generators, and the artists who play them.

Each genre is a table of *habits* (tempo range, swing, chord progressions, drum patterns, bass
lines, comping, melody, General MIDI instruments). An :class:`Artist` draws its own style from
its genre's table once -- and, now and then, borrows a habit from a neighbouring genre (a
country band with a rock drummer, a pop act with a disco bass line): that is what makes
rock/metal/country and disco/pop hard to tell apart, as in GTZAN. Each track of an artist
then varies tempo, key, progression and melody around that fixed style.

Lines are in beats (4/4: 16 sixteenth-note steps per bar; 3/4: 12 steps).
"""
from dataclasses import asdict, dataclass, field

import numpy as np

from . import music as M

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")

# ------------------------------------------------------------------ chord progressions
# (semitones above the key, chord quality), one chord per bar
I, ii, iii, IV, V, vi = 0, 2, 4, 5, 7, 9
bII, bIII, bVI, bVII = 1, 3, 8, 10
PROGRESSIONS = {
    "blues12": [(I, "7")] * 4 + [(IV, "7")] * 2 + [(I, "7")] * 2 + [(V, "7"), (IV, "7"), (I, "7"), (V, "7")],
    "blues_quick": [(I, "7"), (IV, "7"), (I, "7"), (I, "7"), (IV, "7"), (IV, "7"), (I, "7"), (I, "7"),
                    (V, "7"), (IV, "7"), (I, "7"), (V, "7")],
    "blues_minor": [(I, "m7")] * 4 + [(IV, "m7")] * 2 + [(I, "m7")] * 2 + [(bVI, "7"), (V, "7"), (I, "m7"), (V, "7")],
    "ii_V_I": [(ii, "m7"), (V, "7"), (I, "maj7"), (I, "maj7")],
    "ii_V_I_vi": [(ii, "m7"), (V, "7"), (I, "maj7"), (vi, "7")],
    "minor_ii_V": [(ii, "m7b5"), (V, "7"), (I, "m7"), (I, "m7")],
    "rhythm_changes": [(I, "maj7"), (vi, "m7"), (ii, "m7"), (V, "7")],
    "axis": [(I, "maj"), (V, "maj"), (vi, "min"), (IV, "maj")],
    "axis_vi": [(vi, "min"), (IV, "maj"), (I, "maj"), (V, "maj")],
    "fifties": [(I, "maj"), (vi, "min"), (IV, "maj"), (V, "maj")],
    "pop_IV": [(IV, "maj"), (I, "maj"), (V, "maj"), (vi, "min")],
    "I_IV_V": [(I, "maj"), (IV, "maj"), (V, "maj"), (IV, "maj")],
    "mixo_rock": [(I, "maj"), (bVII, "maj"), (IV, "maj"), (I, "maj")],
    "I_V_IV": [(I, "maj"), (V, "maj"), (IV, "maj"), (IV, "maj")],
    "aeolian": [(I, "min"), (bVI, "maj"), (bVII, "maj"), (I, "min")],
    "phrygian": [(I, "min"), (bII, "maj"), (I, "min"), (bVII, "maj")],
    "minor_iv_V": [(I, "min"), (IV, "min"), (bVI, "maj"), (V, "maj")],
    "country": [(I, "maj"), (I, "maj"), (IV, "maj"), (IV, "maj"), (V, "maj"), (V, "maj"), (I, "maj"), (I, "maj")],
    "country_IV": [(I, "maj"), (IV, "maj"), (I, "maj"), (V, "maj")],
    "disco_vamp": [(I, "m7"), (IV, "m7"), (I, "m7"), (IV, "m7")],
    "disco_ii_V": [(ii, "m7"), (V, "7"), (I, "maj7"), (IV, "maj7")],
    "disco_minor": [(I, "m7"), (bVII, "maj"), (bVI, "maj7"), (bVII, "maj")],
    "hiphop_two": [(I, "m7"), (I, "m7"), (bVI, "maj7"), (bVI, "maj7")],
    "hiphop_iv": [(I, "m9"), (IV, "m7"), (I, "m9"), (IV, "m7")],
    "reggae_I_IV": [(I, "maj"), (IV, "maj"), (I, "maj"), (IV, "maj")],
    "reggae_minor": [(I, "min"), (bVII, "maj"), (I, "min"), (bVII, "maj")],
    "reggae_I_V": [(I, "maj"), (V, "maj"), (vi, "min"), (IV, "maj")],
    "cadence": [(I, "maj"), (IV, "maj"), (V, "7"), (I, "maj")],
    "cadence_ii": [(I, "maj"), (vi, "min"), (ii, "min"), (V, "7")],
    "cadence_minor": [(I, "min"), (IV, "min"), (V, "7"), (I, "min")],
    "pachelbel": [(I, "maj"), (V, "maj"), (vi, "min"), (iii, "min"), (IV, "maj"), (I, "maj"), (IV, "maj"), (V, "7")],
}

# ------------------------------------------------------------------ drum patterns
# one string per drum, one character per step: X accent, x normal, o ghost, . rest
DRUMS = {
    "none": {},
    "rock": {M.KICK: "X.....x.X.x.....", M.SNARE: "....X.......X...", M.CLOSED_HH: "x.x.x.x.x.x.x.x."},
    "rock_ride": {M.KICK: "X.......X.x.....", M.SNARE: "....X.......X...", M.RIDE: "x.x.x.x.x.x.x.x."},
    "pop": {M.KICK: "X......x..X.....", M.SNARE: "....X.......X...", M.CLOSED_HH: "xoxoxoxoxoxoxoxo"},
    "pop_clap": {M.KICK: "X...X...X...X...", M.CLAP: "....X.......X...", M.CLOSED_HH: "..x...x...x...x."},
    "disco": {M.KICK: "X...X...X...X...", M.SNARE: "....X.......X...",
              M.CLOSED_HH: "xx.xxx.xxx.xxx.x", M.OPEN_HH: "..x...x...x...x."},
    "disco_tamb": {M.KICK: "X...X...X...X...", M.CLAP: "....X.......X...", M.OPEN_HH: "..x...x...x...x.",
                   M.TAMBOURINE: "x.x.x.x.x.x.x.x."},
    "boombap": {M.KICK: "X.....x...X.....", M.SNARE: "....X.......X...", M.CLOSED_HH: "x.x.x.x.x.x.x.x."},
    "boombap2": {M.KICK: "X......xX.......", M.SNARE: "....X.......X..o", M.CLOSED_HH: "xoxoxoxoxoxoxoxo"},
    "one_drop": {M.KICK: "........X.......", M.SIDESTICK: "........X.......", M.CLOSED_HH: "x.x.x.x.x.x.x.x."},
    "steppers": {M.KICK: "X...X...X...X...", M.SIDESTICK: "........X.......", M.CLOSED_HH: "..x...x...x...x."},
    "rockers": {M.KICK: "X.......X.......", M.SIDESTICK: "....x.......x...", M.OPEN_HH: "..x...x...x...x."},
    "swing_ride": {M.RIDE: "x...x.x.x...x.x.", M.PEDAL_HH: "....x.......x...", M.KICK: "o...o...o...o..."},
    "swing_brush": {M.SNARE: "o.o.o.o.o.o.o.o.", M.RIDE: "x...x.x.x...x.x.", M.PEDAL_HH: "....x.......x..."},
    "shuffle": {M.KICK: "X.....x.X.....x.", M.SNARE: "....X.......X...", M.CLOSED_HH: "x.x.x.x.x.x.x.x."},
    "slow_blues": {M.KICK: "X.......X.......", M.SNARE: "....X.......X...", M.RIDE: "x.x.x.x.x.x.x.x."},
    "double_kick": {M.KICK: "xxxxxxxxxxxxxxxx", M.SNARE: "....X.......X...", M.CRASH: "X.......X......."},
    "gallop": {M.KICK: "X.xxX.xxX.xxX.xx", M.SNARE: "....X.......X...", M.CLOSED_HH: "x.x.x.x.x.x.x.x."},
    "thrash": {M.KICK: "X.x.X.x.X.x.X.x.", M.SNARE: "..X...X...X...X.", M.CRASH: "X.......X......."},
    "train": {M.KICK: "X.......X.......", M.SNARE: "xoxoXoxoxoxoXoxo"},
    "two_beat": {M.KICK: "X.......X.......", M.SIDESTICK: "....X.......X...", M.CLOSED_HH: "x.x.x.x.x.x.x.x."},
    "waltz": {M.KICK: "X...........", M.SIDESTICK: "....x...x...", M.CLOSED_HH: "x.x.x.x.x.x."},
    "timpani": {M.KICK: "X...............", M.CRASH: "................"},
}
VELOCITY = {"X": 112, "x": 86, "o": 48}


def play_drums(score, pattern, bar, fill, rng, level=1.0):
    """One bar of ``pattern`` starting at beat ``bar * beats_per_bar``; ``fill`` ends a phrase with toms."""
    steps = DRUMS[pattern]
    t0 = bar * score.beats_per_bar
    for key, line in steps.items():
        for i, c in enumerate(line):
            if c != "." and not (fill and i >= len(line) - 4 and key != M.KICK):
                vel = VELOCITY[c] * level * rng.uniform(0.85, 1.05)
                score.add("drums", t0 + i / 4, 0.25, key, vel)
    if fill and steps:
        n = len(next(iter(steps.values())))
        for i, tom in enumerate((M.HIGH_TOM, M.MID_TOM, M.LOW_TOM, M.SNARE)):
            score.add("drums", t0 + (n - 4 + i) / 4, 0.25, tom, 100 * level)
    if bar % 8 == 0 and steps and pattern not in ("swing_ride", "swing_brush", "timpani"):
        score.add("drums", t0, 1.0, M.CRASH, 100 * level)


# ------------------------------------------------------------------ bass lines
def play_bass(score, style, t0, root, quality, next_root, rng, bpb=4):
    """One bar of bass line ``style``; ``root`` and ``next_root`` are MIDI pitches in the bass register."""
    third = root + M.CHORDS[quality][1]
    fifth = root + 7
    low_fifth = fifth - 12 if fifth - 12 > 27 else fifth  # the fifth below, if the bass can reach it

    def add(t, d, p, v=95):
        score.add("bass", t0 + t, d, p, v * rng.uniform(0.9, 1.05))

    if style == "root8":
        for k in range(2 * bpb):
            add(k / 2, 0.45, root, 100 if k % 2 == 0 else 85)
    elif style == "root4":
        for k in range(bpb):
            add(k, 0.9, root)
    elif style == "root_fifth":
        for k in range(bpb):
            if k % 2 == 0:
                add(k, 0.8, root if k % 4 == 0 else low_fifth)
    elif style == "walking":
        chord = [root + i for i in M.CHORDS[quality][:4]]
        approach = next_root + (1 if rng.random() < 0.5 else -1)
        line = [root] + [chord[rng.integers(1, len(chord))] for _ in range(bpb - 2)] + [approach]
        for k, p in enumerate(line):
            add(k, 0.95, p, 90)
    elif style == "boogie":
        sixth, seventh = root + 9, root + 10
        line = [root, third, fifth, sixth, seventh, sixth, fifth, third]
        for k, p in enumerate(line[: 2 * bpb]):
            add(k / 2, 0.45, p)
    elif style == "octave":
        for k in range(2 * bpb):
            add(k / 2, 0.35, root + 12 * (k % 2), 105 if k % 2 == 0 else 90)
    elif style == "riff":
        for k in range(4 * bpb):
            if rng.random() < 0.85:
                p = root if rng.random() < 0.8 else rng.choice([root + 1, root + 6, root + 7, root + 12])
                add(k / 4, 0.2, p, 100)
    elif style == "reggae":
        for t, d, p in ((0.5, 0.4, root), (1.0, 0.5, root), (1.75, 0.5, fifth), (2.5, 0.4, root + 12),
                        (3.0, 0.9, low_fifth if low_fifth != fifth else third)):
            if t < bpb:
                add(t, d, p)
    elif style == "sub":
        for t, d in ((0, 1.4), (1.5, 0.9), (2.5, 1.4)):
            if t < bpb:
                add(t, d, root, 105)
    elif style == "sustain":
        add(0, bpb - 0.05, root, 80)
    elif style == "syncopated":
        for t in (0, 0.75, 1.5, 2, 2.75, 3.5):
            if t < bpb:
                add(t, 0.4, root if t != 2.75 else fifth)
    else:
        raise ValueError(f"unknown bass style {style!r}")


# ------------------------------------------------------------------ comping
def play_comp(score, style, t0, root_pc, quality, rng, bpb=4, part="comp"):
    """One bar of accompaniment (chords) in ``style``."""
    def add(t, d, notes, v=75):
        if t < bpb:  # patterns are written for 4/4; in 3/4 the fourth beat is dropped
            for n in notes:
                score.add(part, t0 + t, d, n, v * rng.uniform(0.85, 1.05))

    chord = M.voicing(root_pc, quality)
    if style == "sustain":
        add(0, bpb - 0.05, chord, 65)
    elif style == "halves":
        for t in range(0, bpb, 2):
            add(t, 1.9, chord, 70)
    elif style == "strum":
        for t in (0, 1, 1.5, 2.5, 3, 3.5):
            add(t, 0.45, chord, 80 if t == int(t) else 65)
    elif style in ("power", "chug", "power_sustain"):
        power = M.voicing(root_pc, "5", low=40, high=64)
        if style == "power_sustain":
            for t in range(0, bpb, 2):
                add(t, 1.9, power, 95)
        else:
            step = 0.5 if style == "power" else 0.25
            for k in range(int(bpb / step)):
                if style == "power" or rng.random() < 0.8:
                    add(k * step, step * 0.6, power, 100 if k % 4 == 0 else 85)
    elif style == "skank":
        for t in np.arange(0.5, bpb, 1.0):
            add(t, 0.2, chord, 80)
    elif style == "skank_half":
        for t in (1, 3):
            add(t, 0.25, chord, 85)
    elif style == "charleston":
        rootless = M.voicing(root_pc, M.EXTEND.get(quality, quality), low=55, high=79, rootless=True)
        add(0, 1.0, rootless, 65)
        add(1.5, 0.4, rootless, 70)
        if rng.random() < 0.5:
            add(3.5, 0.4, rootless, 60)
    elif style == "shuffle_chords":
        r = 40 + (root_pc - 40) % 12
        for k in range(2 * bpb):
            add(k / 2, 0.45, [r, r + (7 if k % 4 < 2 else 9)], 85)
    elif style == "alberti":
        lo, mid, hi = chord[0], chord[1], chord[2]
        for k, p in enumerate([lo, hi, mid, hi] * bpb):
            add(k / 2, 0.45, [p], 60)
    elif style == "arpeggio":
        notes = chord + [chord[0] + 12]
        for k in range(2 * bpb):
            add(k / 2, 0.9, [notes[k % len(notes)]], 65)
    elif style == "stabs":
        for t in (0.5, 1.75, 2.5, 3.75):
            add(t, 0.25, chord, 90)
    elif style == "scratch":
        for k in range(4 * bpb):
            add(k / 4, 0.1, chord, 80 if k % 4 == 2 else 45)
    elif style == "loop":
        for t, d in ((0, 1.4), (1.5, 0.5), (2.5, 1.4)):
            add(t, d, chord, 70)
    else:
        raise ValueError(f"unknown comping style {style!r}")


# ------------------------------------------------------------------ melody
LEADS = {  # scale (None: from the key), grid in beats, density, register, note length factor
    "none": None,
    "blues_lead": ("blues", 0.5, 0.55, (60, 84), 0.9),
    "bebop": (None, 0.5, 0.8, (58, 84), 0.9),
    "vocal": ("pent_major", 0.5, 0.45, (60, 79), 1.6),
    "vocal_minor": ("pent_minor", 0.5, 0.45, (57, 76), 1.6),
    "rock_lead": ("pent_minor", 0.5, 0.6, (57, 84), 1.0),
    "shred": ("harmonic", 0.25, 0.8, (55, 88), 0.9),
    "line": (None, 0.5, 0.6, (62, 86), 1.4),
    "hook": (None, 0.25, 0.4, (60, 80), 0.8),
    "sparse": ("pent_minor", 0.5, 0.25, (60, 80), 2.0),
}


def play_melody(score, style, key_pc, mode_scale, bars, chords, rng, bpb=4):
    """A melody in phrases: a 2-bar motif, repeated with variations (A A' A B), rests between phrases."""
    spec = LEADS[style]
    if spec is None:
        return
    scale_name, grid, density, (low, high), length = spec
    pitches = M.scale_pitches(key_pc, scale_name or mode_scale, low, high)
    steps = int(2 * bpb / grid)
    onsets = [k for k in range(steps) if rng.random() < density or k == 0]
    moves = rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3], size=len(onsets))
    pos = len(pitches) // 2
    for bar in range(0, bars - 1, 2):
        phrase = (bar // 2) % 4
        if phrase == 3 and rng.random() < 0.5:
            continue  # breathe
        if phrase == 3:
            moves = rng.choice([-2, -1, 0, 1, 2], size=len(onsets))
        p = pos
        for j, k in enumerate(onsets):
            if rng.random() < 0.15 and phrase > 0:
                continue  # variation: drop a note
            p = int(np.clip(p + moves[j] + (rng.integers(-1, 2) if phrase == 1 else 0), 0, len(pitches) - 1))
            t = k * grid
            chord_root, quality = chords[bar + int(t // bpb)]
            pitch = pitches[p]
            if t % 1 == 0:  # strong beats go to the nearest chord tone
                tones = {(chord_root + i) % 12 for i in M.CHORDS[quality]}
                pitch = min((q for q in pitches if q % 12 in tones), key=lambda q: abs(q - pitch), default=pitch)
            nxt = onsets[j + 1] * grid if j + 1 < len(onsets) else 2 * bpb
            dur = min(nxt - t, grid * length * rng.uniform(0.8, 1.5))
            score.add("lead", bar * bpb + t, max(dur * 0.95, 0.1), pitch, rng.integers(80, 110))


# ------------------------------------------------------------------ the genres' habits
STYLES = {
    "blues": dict(tempo=(68, 130), swing=(0.6, 0.67), meters=(4,), keys=(4, 9, 7, 10, 2, 0),
                  progressions=("blues12", "blues_quick", "blues_minor"), scale="mixolydian",
                  drums=("shuffle", "slow_blues", "swing_ride"), kits=(0, 8, 32),
                  bass=("walking", "boogie", "root4"), comp=("shuffle_chords", "sustain", "charleston", "strum"),
                  lead=("blues_lead", "blues_lead", "sparse"),
                  bass_prog=(32, 33, 34), comp_prog=(0, 16, 27, 29, 26, 25), lead_prog=(29, 27, 22, 65, 66, 30, 26),
                  pad_prog=(16, 61), pad_p=0.25),
    "classical": dict(tempo=(56, 132), swing=(0.5, 0.5), meters=(4, 3), keys=(0, 7, 2, 5, 9, 10, 3),
                      progressions=("cadence", "cadence_ii", "cadence_minor", "pachelbel"), scale="major",
                      drums=("none", "none", "none", "none", "timpani"), kits=(48,),
                      bass=("sustain", "root4", "sustain"), comp=("alberti", "arpeggio", "sustain", "halves"),
                      lead=("line", "line", "vocal"),
                      bass_prog=(42, 43, 32, 70, 58), comp_prog=(0, 6, 48, 49, 46, 45, 44), lead_prog=(40, 73, 68, 71, 60, 0, 41, 56),
                      pad_prog=(48, 49, 19, 52), pad_p=0.5),
    "country": dict(tempo=(84, 160), swing=(0.5, 0.58), meters=(4, 4, 3), keys=(7, 2, 9, 4, 0),
                    progressions=("country", "country_IV", "I_IV_V", "axis"), scale="major",
                    drums=("two_beat", "train", "rock"), kits=(0, 40, 8),
                    bass=("root_fifth", "root_fifth", "root4", "walking"), comp=("strum", "arpeggio", "strum"),
                    lead=("vocal", "line", "blues_lead"),
                    bass_prog=(32, 33, 34), comp_prog=(25, 24, 105, 0, 27), lead_prog=(110, 25, 22, 27, 105, 40, 26),
                    pad_prog=(21, 16, 48), pad_p=0.2),
    "disco": dict(tempo=(108, 132), swing=(0.5, 0.53), meters=(4,), keys=(9, 4, 2, 7, 0, 5),
                  progressions=("disco_vamp", "disco_ii_V", "disco_minor", "axis_vi"), scale="dorian",
                  drums=("disco", "disco_tamb", "disco"), kits=(0, 24, 8),
                  bass=("octave", "octave", "syncopated"), comp=("stabs", "scratch", "sustain", "strum"),
                  lead=("vocal", "hook", "vocal_minor"),
                  bass_prog=(33, 38, 36, 34), comp_prog=(4, 28, 48, 61, 62, 50, 5), lead_prog=(53, 81, 61, 73, 65, 54, 62),
                  pad_prog=(48, 50, 49, 89), pad_p=0.6),
    "hiphop": dict(tempo=(78, 100), swing=(0.5, 0.6), meters=(4,), keys=(1, 3, 6, 8, 10, 5),
                   progressions=("hiphop_two", "hiphop_iv", "disco_vamp", "aeolian"), scale="minor",
                   drums=("boombap", "boombap2", "boombap"), kits=(25, 24, 0, 16),
                   bass=("sub", "sub", "syncopated"), comp=("loop", "sustain", "stabs", "halves"),
                   lead=("hook", "sparse", "none", "none"),
                   bass_prog=(38, 39, 33, 35), comp_prog=(4, 0, 48, 11, 89, 61, 5), lead_prog=(80, 11, 0, 56, 73, 8, 81),
                   pad_prog=(89, 91, 50, 52), pad_p=0.4, swing_unit=0.5),
    "jazz": dict(tempo=(90, 220), swing=(0.6, 0.67), meters=(4, 4, 3), keys=(5, 10, 3, 0, 8, 7),
                 progressions=("ii_V_I", "ii_V_I_vi", "minor_ii_V", "rhythm_changes"), scale="major",
                 drums=("swing_ride", "swing_brush", "swing_ride"), kits=(32, 40, 0),
                 bass=("walking", "walking", "walking", "root4"), comp=("charleston", "charleston", "sustain"),
                 lead=("bebop", "bebop", "line"),
                 bass_prog=(32, 32, 33, 35), comp_prog=(0, 26, 4, 11, 0), lead_prog=(65, 66, 56, 59, 11, 71, 64, 57, 26),
                 pad_prog=(48, 61), pad_p=0.15, extend=True),
    "metal": dict(tempo=(88, 200), swing=(0.5, 0.5), meters=(4,), keys=(4, 2, 1, 9, 7),
                  progressions=("aeolian", "phrygian", "minor_iv_V", "mixo_rock"), scale="minor",
                  drums=("double_kick", "gallop", "thrash", "rock"), kits=(16, 0, 8),
                  bass=("riff", "root8", "riff"), comp=("chug", "power", "power_sustain"),
                  lead=("shred", "rock_lead", "none"),
                  bass_prog=(34, 33, 30), comp_prog=(30, 30, 29), lead_prog=(30, 29, 81, 30, 19),
                  pad_prog=(48, 19, 52), pad_p=0.25),
    "pop": dict(tempo=(88, 128), swing=(0.5, 0.55), meters=(4,), keys=(0, 7, 2, 5, 9, 4),
                progressions=("axis", "axis_vi", "fifties", "pop_IV"), scale="major",
                drums=("pop", "pop_clap", "rock"), kits=(0, 24, 25),
                bass=("root8", "syncopated", "root4"), comp=("halves", "strum", "arpeggio", "sustain"),
                lead=("vocal", "vocal", "hook"),
                bass_prog=(33, 38, 34), comp_prog=(0, 4, 25, 27, 48, 89, 1), lead_prog=(53, 52, 80, 73, 81, 11, 65),
                pad_prog=(89, 48, 50, 88), pad_p=0.5),
    "reggae": dict(tempo=(64, 92), swing=(0.5, 0.62), meters=(4,), keys=(9, 7, 2, 0, 5),
                   progressions=("reggae_I_IV", "reggae_minor", "reggae_I_V"), scale="major",
                   drums=("one_drop", "one_drop", "steppers", "rockers"), kits=(0, 8, 32),
                   bass=("reggae", "reggae", "sub"), comp=("skank", "skank_half", "skank"),
                   lead=("vocal", "vocal_minor", "sparse"),
                   bass_prog=(33, 38, 34, 35), comp_prog=(27, 16, 0, 28, 17), lead_prog=(53, 56, 65, 16, 57, 22),
                   pad_prog=(16, 17), pad_p=0.5),
    "rock": dict(tempo=(96, 168), swing=(0.5, 0.54), meters=(4,), keys=(4, 9, 7, 2, 0),
                 progressions=("I_IV_V", "mixo_rock", "I_V_IV", "axis_vi", "aeolian"), scale="mixolydian",
                 drums=("rock", "rock_ride", "rock"), kits=(0, 8, 16),
                 bass=("root8", "root8", "root4", "riff"), comp=("power", "power_sustain", "strum"),
                 lead=("rock_lead", "vocal", "vocal_minor"),
                 bass_prog=(33, 34, 33), comp_prog=(29, 30, 27, 25, 18), lead_prog=(29, 30, 53, 18, 27, 81),
                 pad_prog=(18, 16, 48), pad_p=0.3),
}
# whose habits an artist of a genre may borrow (GTZAN's usual confusions)
NEIGHBOURS = {
    "blues": ("jazz", "rock", "country"), "classical": ("jazz",), "country": ("rock", "blues", "pop"),
    "disco": ("pop", "hiphop"), "hiphop": ("reggae", "disco", "pop"), "jazz": ("blues", "classical"),
    "metal": ("rock",), "pop": ("disco", "rock", "country"), "reggae": ("hiphop", "pop"),
    "rock": ("metal", "country", "pop", "blues"),
}
BORROW = 0.15  # probability that one habit of an artist comes from a neighbouring genre
# instruments and drum kits are borrowed more often than rhythms and forms: a genre is told by
# what is played more than by the sound of it (timbre statistics alone should not suffice)
SOUND_BORROW = 0.25


@dataclass
class Artist:
    """A fixed style, drawn once; all the artist's tracks are variations on it."""

    id: str
    genre: str
    tempo: float
    swing: float
    swing_unit: float
    meter: int
    keys: list
    progressions: list
    scale: str
    drums: str
    kit: int
    bass: str
    comp: str
    lead: str
    programs: dict
    volumes: dict
    humanize: float
    extend: bool
    production: dict = field(default_factory=dict)
    borrowed: list = field(default_factory=list)  # the habits drawn from a neighbouring genre

    def to_dict(self):
        return asdict(self)


def draw_artist(genre, artist_id, rng, borrow=BORROW):
    """Draw an artist's style from ``genre``'s habits.

    Each habit comes from a neighbouring genre with probability ``borrow`` (instruments and drum
    kits: ``SOUND_BORROW``, scaled the same way when ``borrow`` is changed).
    """
    from .production import draw_production

    if genre not in STYLES:
        raise ValueError(f"unknown genre {genre!r}; choose from {GENRES}")
    S = STYLES[genre]

    borrowed = []

    def habit(name):
        # the first options of each list are the most typical: weights 1, 1/2^1.3, 1/3^1.3, ...
        p = SOUND_BORROW * borrow / BORROW if name.endswith("_prog") or name == "kits" else borrow
        src = S
        if rng.random() < p:
            other = str(rng.choice(NEIGHBOURS[genre]))
            src = STYLES[other]
            borrowed.append(f"{name} from {other}")
        w = 1.0 / np.arange(1, len(src[name]) + 1) ** 1.3
        return src[name][rng.choice(len(w), p=w / w.sum())]

    lo, hi = S["tempo"]
    # two instruments per role: each track uses one of them
    programs = {r: [int(habit(r + "_prog")), int(habit(r + "_prog"))] for r in ("bass", "comp", "lead")}
    if rng.random() < S["pad_p"]:
        programs["pad"] = [int(habit("pad_prog"))]
    drums = habit("drums")
    n_keys = int(rng.integers(1, 4))
    return Artist(
        id=artist_id, genre=genre, tempo=float(rng.uniform(lo, hi)), swing=float(rng.uniform(*S["swing"])),
        swing_unit=S.get("swing_unit", 1.0), meter=int(rng.choice(S["meters"])),
        keys=[int(k) for k in rng.choice(S["keys"], size=n_keys, replace=False)],
        progressions=[str(p) for p in rng.choice(S["progressions"], size=min(2, len(S["progressions"])), replace=False)],
        scale=S["scale"], drums=drums, kit=int(habit("kits")), bass=habit("bass"), comp=habit("comp"),
        lead=habit("lead"), programs=programs,
        volumes={r: int(rng.integers(85, 116)) for r in ("drums", "bass", "comp", "lead", "pad")},
        humanize=float(rng.uniform(0.0, 0.02)), extend=bool(S.get("extend", False)),
        production=draw_production(genre, rng), borrowed=borrowed,
    )


def arrange(artist, rng, duration):
    """Compose one track of ``artist``: a :class:`mirkit.datasets.music.Score` at least ``duration`` s long.

    ``score.chords`` lists the harmony bar by bar: ``(start_beat, end_beat, root_pc, quality)``.
    """
    tempo = artist.tempo * rng.uniform(0.95, 1.05)
    bpb = artist.meter
    score = M.Score(tempo, artist.swing, bpb, artist.humanize, rng, artist.swing_unit)
    key = int(rng.choice(artist.keys))
    prog = PROGRESSIONS[str(rng.choice(artist.progressions))]
    n_bars = int(np.ceil(duration * tempo / 60 / bpb)) + 2
    offset = int(rng.integers(len(prog)))  # a GTZAN clip starts anywhere in the song
    chords = []
    for b in range(n_bars + 2):
        deg, quality = prog[(b + offset) % len(prog)]
        if artist.extend:
            quality = M.EXTEND.get(quality, quality)
        chords.append(((key + deg) % 12, quality))
    minor = chords[0][1] in ("min", "m7", "m9") and prog[0][0] == 0
    mode_scale = "dorian" if minor and artist.scale in ("dorian", "mixolydian") else (
        "minor" if minor else artist.scale if artist.scale != "minor" else "major")
    for role, options in artist.programs.items():
        score.part(role, options[rng.integers(len(options))])
    drums = artist.drums
    if bpb == 3 and drums != "none":
        drums = "waltz"
    if drums != "none":
        score.part("drums", artist.kit, is_drum=True)
    bass_style, comp_style = artist.bass, artist.comp
    if bpb == 3:  # three beats: keep the styles that make sense in a waltz
        bass_style = bass_style if bass_style in ("root4", "sustain", "walking") else "root4"
        comp_style = comp_style if comp_style in ("sustain", "arpeggio", "alberti", "halves") else "arpeggio"
    for b in range(n_bars):
        root_pc, quality = chords[b]
        bass_root = 28 + (root_pc - 28) % 12
        next_root = 28 + (chords[b + 1][0] - 28) % 12
        if drums != "none":
            play_drums(score, drums, b, fill=(b % 8 == 7 and rng.random() < 0.6), rng=rng)
        play_bass(score, bass_style, b * bpb, bass_root, quality, next_root, rng, bpb)
        play_comp(score, comp_style, b * bpb, root_pc, quality, rng, bpb)
        if "pad" in artist.programs:
            play_comp(score, "sustain", b * bpb, root_pc, quality, rng, bpb, part="pad")
    play_melody(score, artist.lead, key, mode_scale, n_bars, chords, rng, bpb)
    # the harmony as played, one chord per bar, in beats: the ground truth of the chord annotations
    score.chords = [(b * bpb, (b + 1) * bpb, root_pc, quality) for b, (root_pc, quality) in enumerate(chords[:n_bars])]
    return score
