"""Code cites lessons that exist, and nothing outside the repository.

Every ``lessons/NN-name`` a file in ``mirkit/`` or ``autograde/`` names must be a folder of
``lessons/``; a bare "lesson NN" (or "lessons NN-MM") must have a folder ``lessons/NN-*``. No file
refers to the lecture notes the course was written from ("seed 003", ``../shared``): a student
or instructor with this repository alone cannot open them. The teaching modules that students
read (mirkit.nn, mirkit.features, mirkit.signal, mirkit.sounds) cite lessons by folder only.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = {p.name for p in (ROOT / "lessons").iterdir() if p.is_dir()}
SCANNED = sorted(p for d in ("mirkit", "autograde") for p in (ROOT / d).rglob("*.py"))
TEACHING = sorted([*(ROOT / "mirkit" / "nn").glob("*.py"), *(ROOT / "mirkit" / "features").glob("*.py"),
                   ROOT / "mirkit" / "signal.py", ROOT / "mirkit" / "sounds.py"])
NOT_TEACHING = {"metrics.py"}  # mirkit/nn/metrics.py belongs to the lessons on evaluation

FOLDER = re.compile(r"lessons/(\d\d-[a-z0-9]+(?:-[a-z0-9]+)*)")
BARE = re.compile(r"\b[Ll]essons? (\d\d)\b((?:(?:-| and |, | to )\d\d\b)*)")
OUTSIDE = re.compile(r"(?i)\bseeds?[ _]?0\d\d\b|\.\./shared|shared/seeds")


def _rel(path):
    return path.relative_to(ROOT).as_posix()


def _numbers(match):
    """'lessons 04-06' -> ['04', '05', '06']; 'lessons 01, 02 and 04' -> ['01', '02', '04']."""
    numbers = [match.group(1)]
    for sep, n in re.findall(r"(-| and |, | to )(\d\d)", match.group(2)):
        if sep in ("-", " to "):
            numbers += [f"{i:02d}" for i in range(int(numbers[-1]) + 1, int(n) + 1)]
        else:
            numbers.append(n)
    return numbers


def _problems(text, name):
    """One message per bad reference in text (a file called name)."""
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        where = f"{name}:{lineno}"
        for folder in FOLDER.findall(line):
            if folder not in LESSONS:
                out.append(f"{where}: cites lessons/{folder}, which is not a folder of lessons/")
        for m in BARE.finditer(line):
            for n in _numbers(m):
                if not any(name.startswith(n + "-") for name in LESSONS):
                    out.append(f"{where}: '{m.group(0)}' cites lesson {n}, which has no folder "
                               f"lessons/{n}-*")
        if OUTSIDE.search(line):
            out.append(f"{where}: refers to material outside the repository "
                       f"({OUTSIDE.search(line).group(0)!r}): say 'the lecture' or cite a lesson")
    return out


def test_the_scan_sees_the_package_and_the_lessons():
    assert len(SCANNED) > 20 and ROOT / "mirkit" / "nn" / "conv.py" in SCANNED
    assert {"00-audio-as-data", "05-convolution", "06-descriptors-are-networks"} <= LESSONS


def test_the_checks_catch_what_they_should():
    bad = '"""See lessons/99-nowhere, lesson 98 and lessons 05-97.\nAs in seed 003 (../shared/x)."""'
    problems = _problems(bad, "bad.py")
    assert len(problems) == 1 + 1 + (97 - 5 + 1 - sum(n.startswith(tuple(f"{i:02d}-" for i in range(5, 98)))
                                                       for n in LESSONS)) + 1, problems
    assert "lessons/99-nowhere" in problems[0] and "bad.py:1" in problems[0]
    assert problems[-1].startswith("bad.py:2") and "outside the repository" in problems[-1]
    assert [n for m in BARE.finditer("lessons 01, 02 and 04-06") for n in _numbers(m)] == \
        ["01", "02", "04", "05", "06"]
    good = "lessons/05-convolution, lesson 05, lessons 00-01, rng seed 0, seed=003"
    assert _problems(good, "good.py") == []


@pytest.mark.parametrize("path", SCANNED, ids=_rel)
def test_references_point_inside_the_repository(path):
    problems = _problems(path.read_text(encoding="utf-8"), _rel(path))
    assert not problems, "\n".join(problems + [f"lessons/ holds: {', '.join(sorted(LESSONS))}"])


@pytest.mark.parametrize("path", [p for p in TEACHING if p.name not in NOT_TEACHING], ids=_rel)
def test_teaching_modules_cite_lesson_folders(path):
    text = path.read_text(encoding="utf-8")
    assert FOLDER.search(text), f"{_rel(path)} cites no lesson folder (write e.g. lessons/05-convolution)"
    bare = [m.group(0) for m in BARE.finditer(text)]
    assert not bare, (f"{_rel(path)} cites lessons by number ({', '.join(bare)}): write the folder, "
                      f"e.g. lessons/05-convolution")
