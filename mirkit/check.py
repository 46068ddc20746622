"""Visible tests that talk (the test cell under every exercise, all lessons).

A visible test cell wraps its asserts in ``exercise``::

    from mirkit.check import exercise

    with exercise(2, "a neuron"):
        assert out.shape == (3,), f"a batch of 3 inputs gives 3 outputs, got {out.shape}"

- every assert passes: one line, ``✓ exercise 2 (a neuron): all visible tests pass —
  hidden tests grade it later``;
- an assert fails: the test's own message comes first, short, with its numbers
  (``✗ exercise 2 (a neuron): a batch of 3 inputs gives 3 outputs, got (2,)``), then the
  line of the test that failed; the whole traceback stays one call away
  (``from mirkit.check import details; details()``);
- a ``numpy.testing`` assert fails: its ``err_msg`` first, then the few numbers that matter;
- the exercise is still blank (``NotImplementedError``): it says so, and what to do;
- a name is not defined (the exercise cell was not run, or failed): it says which, and what to do;
- your code raises something else: the error and the line of *your* code it came from;
- warnings (numpy's ``overflow encountered in exp``, ...) are collected and listed under the
  message instead of being printed before it.

A failing test still *raises* (``ExerciseFailed``): the cell ends in an error, so nbgrader
still scores it 0, and a notebook cell tagged ``raises-exception`` lets "Run All" go on to
the next cell. Hidden tests do not use this helper: they keep plain asserts, outside the
``with`` block, so nothing here can make a grade.
"""
from __future__ import annotations

import linecache
import re
import traceback
import warnings

__all__ = ["exercise", "details", "ExerciseFailed"]

_last: BaseException | None = None  # the original error of the last failed check


class ExerciseFailed(AssertionError):
    """A visible test failed; IPython shows ``lines`` instead of a long traceback."""

    def __init__(self, summary: str, lines: list[str]):
        super().__init__(summary)
        self.lines = lines

    def _render_traceback_(self):  # IPython's hook for custom tracebacks
        return self.lines


def details() -> None:
    """Print the full traceback of the last visible test that failed."""
    if _last is None:
        print("no visible test has failed in this kernel yet")
        return
    traceback.print_exception(type(_last), _last, _last.__traceback__)


def _code_line(tb, from_tests: bool) -> str | None:
    """The failing line: in the test cell (``from_tests``) or the deepest line in a notebook cell.

    Notebook cells have file names like ``/tmp/ipykernel_123/456.py``; we skip numpy's and
    mirkit's own frames so the student sees their line, not a library's.
    """
    frames = traceback.extract_tb(tb)
    cells = [f for f in frames if "ipykernel_" in f.filename or f.filename.startswith("<")]
    chosen = (cells[:1] if from_tests else cells[-1:]) or frames[-1:]
    if not chosen:
        return None
    f = chosen[0]
    text = (f.line or linecache.getline(f.filename, f.lineno)).strip()
    return f"line {f.lineno}: {text}" if text else None


def _first_lines(text: str, n: int = 6) -> str:
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    return "\n".join(lines[:n] + (["..."] if len(lines) > n else []))


# numpy.testing's messages: a header, the test's err_msg, then the numbers
_NUMPY_HEADER = re.compile(r"^(Not equal to tolerance|Arrays are not (almost )?equal|Items are not equal)")
_NUMPY_DETAIL = re.compile(r"^\s*(Mismatch|\(shapes|ACTUAL:|DESIRED:|x:|y:|First \d+ mismatch|"
                           r"Max (absolute|relative)|x and y|\[\d)")
_KEEP = re.compile(r"^\s*(\(shapes|Mismatched elements|Max absolute|ACTUAL:|DESIRED:|x:|y:)")


def _assertion_message(exc) -> str:
    """The message of a failed assert, with a numpy.testing err_msg moved first.

    ``np.testing.assert_allclose(a, b, err_msg="...")`` puts the test's own words after a
    header ("Not equal to tolerance rtol=1e-07, atol=0"); the student should read them first,
    then the few numbers that matter (shapes, how many differ, the two arrays' first lines).
    """
    lines = [ln.rstrip() for ln in str(exc).strip().splitlines()]
    if not lines or not _NUMPY_HEADER.match(lines[0]):
        return _first_lines(exc)
    body = lines[1:]
    cut = next((i for i, ln in enumerate(body) if _NUMPY_DETAIL.match(ln)), len(body))
    words = [ln for ln in body[:cut] if ln.strip()]
    numbers = [ln.strip() for ln in body[cut:] if _KEEP.match(ln)][:4]
    numbers = [ln if len(ln) <= 110 else ln[:107] + "..." for ln in numbers]
    head = "\n".join(words[:3]) or "the arrays differ"
    return "\n".join([head, f"  ({lines[0].strip()})"] + [f"  {ln}" for ln in numbers])


class exercise:
    """Context manager around the visible tests of one exercise (see the module docstring).

    number: the exercise number as the lesson text gives it; name: optional short title.
    """

    def __init__(self, number, name: str | None = None):
        self.label = f"exercise {number}" + (f" ({name})" if name else "")

    def __enter__(self):
        self._warnings = warnings.catch_warnings(record=True)
        self._caught = self._warnings.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, etype, exc, tb):
        global _last
        self._warnings.__exit__(None, None, None)
        notes = self._warning_lines()
        if exc is None:
            print(f"✓ {self.label}: all visible tests pass — hidden tests grade it later")
            for note in notes:
                print(f"  note: {note}")
            return False
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: not ours to reword
            return False
        _last = exc
        if isinstance(exc, NotImplementedError):
            head = (f"✗ {self.label} is not written yet: your function still raises "
                    "NotImplementedError. Delete that line in the exercise cell above, write "
                    "your code, run that cell, then this one.")
            where = None
        elif isinstance(exc, NameError):
            name = getattr(exc, "name", None) or str(exc)
            head = (f"✗ {self.label}: `{name}` is not defined. Run the exercise cell above first "
                    "(if it shows an error, fix it), then this one.")
            where = _code_line(tb, from_tests=True)
            where = f"  failed test, {where}" if where else None
        elif isinstance(exc, AssertionError):
            message = _assertion_message(exc) or "an assert of this test failed (it has no message)"
            head = f"✗ {self.label}: {message}"
            where = _code_line(tb, from_tests=True)
            where = f"  failed test, {where}" if where else None
        else:
            head = f"✗ {self.label}: your code raised {etype.__name__}: {_first_lines(exc, 3)}"
            where = _code_line(tb, from_tests=False)
            where = f"  raised at {where}" if where else None
        lines = [head] + ([where] if where else [])
        lines += [f"  while it ran: {note}" for note in notes]
        lines.append("  (the whole traceback: `from mirkit.check import details; details()` in a new cell)")
        raise ExerciseFailed(head, lines) from exc

    def _warning_lines(self) -> list[str]:
        seen, out = set(), []
        for w in self._caught:
            text = f"{w.category.__name__}: {w.message}"
            if text not in seen:
                seen.add(text)
                out.append(text)
        return out[:5]

