"""A student's day in a real JupyterLab (Debian's headless Chromium driven by Playwright, as the
leaderboard browser test does): ``make lab`` on a scratch copy of a blank lesson, Run All reaches
the last cell, the instructor tools are not there, solving one exercise gives the pass line, and
the hand-in button sends the notebook to a class server whose grader sends the score back."""
import json
import os
import re
import shutil
import time

import pytest

from student_lab import ROOT, TOKEN, StudentLab, copy_lesson

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and
                 os.access(p, os.X_OK)), None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LESSON = "01-artificial-neuron"  # the quickest lesson to run (about 10 s)
SOLUTION = '''def neuron(x, w, b, activation):
    return activation(np.asarray(x, dtype=float) @ w + b)
'''


def _no_windowing(config_dir):
    # JupyterLab 4 renders only the cells in view; the test reads every cell from the page
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))


def _saved_run(page, path, timeout=180):
    """Save until the notebook on disk shows every code cell executed; its code cells."""
    deadline = time.monotonic() + timeout
    while True:
        page.keyboard.press("Control+s")
        time.sleep(2)
        cells = [c for c in json.loads(path.read_text("utf-8"))["cells"] if c["cell_type"] == "code"]
        if all(c.get("execution_count") for c in cells) or time.monotonic() > deadline:
            return cells
        time.sleep(3)


def _open_lesson(page, lab):
    # Run All before the kernel is connected runs nothing: wait for the status bar's "Idle"
    page.goto(f"{lab.url}/lab/tree/{LESSON}/{LESSON}.ipynb?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    page.locator(".jp-StatusBar-Item", has_text=re.compile(r"\| Idle$")).first.wait_for(
        timeout=90_000)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                    "(apt-get install chromium; .ci/system-deps does it in CI)")
def test_run_all_reaches_the_end_and_a_solved_exercise_passes(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    work = copy_lesson(LESSON, tmp_path / "lessons")
    _no_windowing(tmp_path / "cfg")
    with StudentLab(tmp_path, notebook_dir=work) as lab, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _open_lesson(page, lab)

        # the student menu: no Nbgrader menu (formgrader, create assignment...), Validate kept
        menus = page.locator("#jp-MainMenu .lm-MenuBar-itemLabel").all_inner_texts()
        assert "Run" in menus and not any("nbgrader" in m.lower() for m in menus), menus
        assert page.locator(".jp-NotebookPanel-toolbar", has_text="Validate").count() == 1
        assert page.locator("text=Create Assignment").count() == 0

        # Run > Run All Cells on the blank lesson: every code cell runs, the last one too
        page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
        page.locator(".jp-Notebook").click(position={"x": 5, "y": 5})
        cells = _saved_run(page, work / LESSON / f"{LESSON}.ipynb")
        counts = [c.get("execution_count") for c in cells]
        assert all(counts) and counts == sorted(counts), f"Run All stopped: execution counts {counts}"
        outputs = page.locator(".jp-Notebook").inner_text()
        assert "✗ exercise 2 (one neuron) is not written yet" in outputs

        # solve exercise 2 in its cell, run it and its test cell: the pass line
        cell = page.locator(".jp-CodeCell", has_text="def neuron(x, w, b, activation)")
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(SOLUTION)
        page.keyboard.press("Shift+Enter")   # runs the exercise, selects its test cell
        page.keyboard.press("Shift+Enter")   # runs the test cell
        test_cell = page.locator(".jp-CodeCell", has_text='with exercise(2, "one neuron")')
        test_cell.locator("text=✓ exercise 2 (one neuron): all visible tests pass").wait_for(
            timeout=60_000)
        browser.close()
    log = lab.log.read_text(errors="replace")
    assert "No nbgrader_config.py file found" not in log
    assert "exchange directory" not in log.lower()


@pytest.mark.xdist_group("grading")
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                    "(apt-get install chromium; .ci/system-deps does it in CI)")
def test_the_hand_in_button_brings_the_grade_back(tmp_path, monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    from autograde.leaderboard import Leaderboard
    from autograde.leaderboard.testing import GraderProcess, ServerProcess, write_labels

    db = str(tmp_path / "class.sqlite")
    write_labels(tmp_path / "labels.csv", n=20)
    lb, _ = Leaderboard.create(db, tmp_path / "labels.csv")
    [(_, _, student_token)] = lb.add_students([{"name": "ada"}])
    lb.set_handin_lesson(LESSON)
    work = copy_lesson(LESSON, tmp_path / "lessons")
    _no_windowing(tmp_path / "cfg")
    # the real grader (the sandbox) on the course's own solutions/
    with ServerProcess(db) as server, GraderProcess(db, root=ROOT, grade_function=None):
        monkeypatch.setenv("MIRKIT_CHALLENGE_URL", server.url)
        monkeypatch.setenv("MIRKIT_CHALLENGE_TOKEN", student_token)
        with StudentLab(tmp_path, notebook_dir=work) as lab, sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            _open_lesson(page, lab)
            # every lesson ends with the hand-in button: run that last cell
            page.locator(".jp-CodeCell", has_text="handin_button()").last.locator(".cm-content").click()
            page.keyboard.press("Shift+Enter")
            page.locator("button", has_text="Hand in").first.click(timeout=180_000)
            # the blank lesson: graded for real, 0 points, each exercise listed
            page.locator("text=/hand-in #1 of 01-artificial-neuron: 0 \\/ 10 points/").first.wait_for(
                timeout=300_000)
            browser.close()
    # the instructor's gradebook holds the same grade
    [h] = lb.all_handins()
    assert (h["student"], h["lesson"], h["status"], h["score"], h["max_score"]) == \
        ("ada", LESSON, "graded", 0, 10)

