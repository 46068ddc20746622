"""mirkit.check: the visible tests that talk, seen as a student sees them (in a real kernel).

One notebook, executed by nbclient as JupyterLab's Run All would (``allow_errors=False``, which
goes on past a cell tagged ``raises-exception``), holds one cell per case: a pass, a failed
assert, a numpy.testing failure, a blank exercise, a crash in the student's code, warnings, an
undefined name. The rendered outputs are what the student reads.
"""
from __future__ import annotations

import warnings

import nbformat
import pytest

from mirkit.check import ExerciseFailed, details, exercise

nbclient = pytest.importorskip("nbclient")

TAG = "raises-exception"


def _code(src: str, raises: bool = False):
    cell = nbformat.v4.new_code_cell(src)
    if raises:
        cell.metadata["tags"] = [TAG]
    return cell


CELLS = [
    _code("import warnings\nimport numpy as np\nfrom mirkit.check import exercise, details"),
    # 1: the student's functions, one of them still blank
    _code("def double(x):\n    return 2 * np.asarray(x, dtype=float)\n\n"
          "def wrong(x):\n    return x + 1\n\n"
          "def blank(x):\n    raise NotImplementedError()\n\n"
          "def crashes(x):\n    return x.shape[5]\n\n"
          "def noisy(z):\n    return 1 / (1 + np.exp(-z))"),
    # 2: every visible test passes
    _code('with exercise(1, "double"):\n'
          '    out = double([1.0, 2.0])\n'
          '    assert type(out) is np.ndarray, f"return an array, got {type(out)}"\n'
          '    np.testing.assert_allclose(out, [2.0, 4.0])', raises=True),
    # 3: a plain assert fails: its message first, with the numbers
    _code('with exercise(2, "wrong"):\n'
          '    out = wrong(3)\n'
          '    assert out == 6, f"wrong(3) should be 6, got {out}"', raises=True),
    # 4: numpy.testing: the err_msg comes before numpy's header
    _code('with exercise(3):\n'
          '    np.testing.assert_allclose(wrong(np.array([1.0, 2.0])), [2.0, 4.0],\n'
          '                               err_msg="double every sample")', raises=True),
    # 5: the exercise is still blank
    _code('with exercise(4, "blank"):\n    blank(1)', raises=True),
    # 6: the student's code raises: the error and the student's line
    _code('with exercise(5, "crashes"):\n    crashes(np.zeros(3))', raises=True),
    # 7: warnings are collected under the message, not printed before it
    _code('with exercise(6, "sigmoid"):\n'
          '    big = noisy(np.array([-1000.0, 1000.0]))\n'
          '    assert np.all(big > 0), f"sigmoid is never exactly 0, got {big}"', raises=True),
    # 8: a pass that warned says so
    _code('with exercise(7, "noisy pass"):\n    noisy(np.array([-1000.0]))', raises=True),
    # 9: an undefined name: the exercise cell was not run
    _code('with exercise(8, "never run"):\n    not_defined_here(1)', raises=True),
    # 10: the whole traceback on demand
    _code("details()"),
    # 11: the end of the notebook
    _code('print("the end")'),
]


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.v4.new_notebook(cells=[nbformat.from_dict(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False)
    client.execute()  # would raise CellExecutionError if Run All stopped anywhere
    return nb.cells


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif out["output_type"] == "error":
            parts.append("\n".join(out["traceback"]))
    return "\n".join(parts)


def _error(cell):
    errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
    assert len(errors) == 1, cell.get("outputs")
    return errors[0]


def test_run_all_reaches_the_last_cell(executed):
    assert _text(executed[11]).strip() == "the end"


def test_a_pass_prints_one_line(executed):
    assert _text(executed[2]).strip() == (
        "✓ exercise 1 (double): all visible tests pass — hidden tests grade it later")


def test_a_failed_assert_shows_its_own_message_first(executed):
    err = _error(executed[3])
    # the cell still ends in an error: nbgrader scores it 0
    assert err["ename"] == "ExerciseFailed"
    lines = err["traceback"]
    assert lines[0] == "✗ exercise 2 (wrong): wrong(3) should be 6, got 4"
    assert 'failed test, line 3: assert out == 6, f"wrong(3) should be 6, got {out}"' in lines[1]
    assert len(lines) <= 4, lines  # short: no numpy or IPython internals
    assert "details()" in lines[-1]


def test_numpy_err_msg_comes_before_numpy_header(executed):
    lines = _error(executed[4])["traceback"]
    assert lines[0].startswith("✗ exercise 3: double every sample")
    text = "\n".join(lines)
    assert "Not equal to tolerance" in text and "Mismatched elements: 1 / 2" in text
    assert "ACTUAL: array([2., 3.])" in text and "DESIRED: array([2., 4.])" in text


def test_a_blank_exercise_says_what_to_do(executed):
    head = _error(executed[5])["traceback"][0]
    assert head.startswith("✗ exercise 4 (blank) is not written yet")
    assert "Delete that line" in head


def test_a_crash_points_at_the_students_line(executed):
    lines = _error(executed[6])["traceback"]
    assert lines[0].startswith("✗ exercise 5 (crashes): your code raised IndexError: tuple index out of range")
    assert "raised at line 11: return x.shape[5]" in lines[1]


def test_warnings_are_listed_under_the_message(executed):
    cell = executed[7]
    # nothing printed on stderr before the message: the warning is part of it
    assert not [o for o in cell["outputs"] if o["output_type"] == "stream"]
    lines = _error(cell)["traceback"]
    assert lines[0] == "✗ exercise 6 (sigmoid): sigmoid is never exactly 0, got [0. 1.]"
    assert any("while it ran: RuntimeWarning: overflow encountered in exp" in ln for ln in lines)


def test_a_pass_that_warned_says_so(executed):
    out = _text(executed[8])
    assert out.startswith("✓ exercise 7 (noisy pass)")
    assert "note: RuntimeWarning: overflow encountered in exp" in out


def test_an_undefined_name_says_run_the_exercise_cell(executed):
    head = _error(executed[9])["traceback"][0]
    assert "`not_defined_here` is not defined. Run the exercise cell above first" in head


def test_details_prints_the_whole_traceback(executed):
    out = _text(executed[10])
    assert "Traceback (most recent call last)" in out and "NameError" in out


def test_an_untagged_failing_test_stops_run_all():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from mirkit.check import exercise\n"
                                  "with exercise(1):\n    assert False, 'no'"),
        nbformat.v4.new_code_cell("print('never')")])
    client = nbclient.NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=False)
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        client.execute()
    assert not nb.cells[1].get("outputs")


# ---------------------------------------------------------------- without a kernel

def test_failure_is_an_assertion_error_with_the_original_as_cause():
    with pytest.raises(ExerciseFailed) as info:
        with exercise(3, "shape"):
            raise AssertionError("expected (3, 2)")  # (pytest rewrites a plain assert's message)
    assert isinstance(info.value, AssertionError)
    assert isinstance(info.value.__cause__, AssertionError)
    assert str(info.value) == "✗ exercise 3 (shape): expected (3, 2)"
    assert info.value._render_traceback_() == info.value.lines


def test_pass_line_and_warning_filters_are_restored(capsys):
    before = list(warnings.filters)
    with exercise(1):
        pass
    assert warnings.filters == before
    assert capsys.readouterr().out.startswith("✓ exercise 1: all visible tests pass")


def test_keyboard_interrupt_is_not_reworded():
    with pytest.raises(KeyboardInterrupt):
        with exercise(1):
            raise KeyboardInterrupt


def test_an_assert_without_message_still_explains():
    with pytest.raises(ExerciseFailed, match="an assert of this test failed"):
        with exercise(2):
            raise AssertionError()


def test_details_before_any_failure(capsys, monkeypatch):
    import mirkit.check as check

    monkeypatch.setattr(check, "_last", None)
    details()
    assert "no visible test has failed" in capsys.readouterr().out
