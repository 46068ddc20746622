"""A real browser (Debian's headless Chromium driven by Playwright, no browser download) logs in,
uploads a CSV, sees its score, and finds its team on the leaderboard page."""
import os
import shutil

import pytest

from autograde.leaderboard import Leaderboard
from autograde.leaderboard.testing import ServerProcess, submission_bytes, write_labels

# one server at a time: runs beside the (light) API tests rather than the load tests
pytestmark = pytest.mark.xdist_group("leaderboard_api")

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and
                 os.access(p, os.X_OK)), None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                    "(apt-get install chromium; .ci/system-deps does it in CI)")
def test_student_logs_in_uploads_and_sees_the_leaderboard(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    ids, truth = write_labels(tmp_path / "labels.csv", n=30)
    db = str(tmp_path / "comp.sqlite")
    lb, _ = Leaderboard.create(db, tmp_path / "labels.csv", title="Browser cup")
    (_, _, token), = lb.add_students([{"name": "dana", "team": "blue notes"}])
    lb.engine.dispose()
    good = tmp_path / "preds.csv"
    good.write_bytes(submission_bytes(ids, truth))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(submission_bytes(ids[:-1] + ["nope"], truth))

    with ServerProcess(db) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(server.url + "/")
        assert "No scored submission yet" in page.inner_text("body")
        page.click("text=Log in")
        page.fill("#token", token)
        page.click("button[type=submit]")
        page.wait_for_url(server.url + "/me")
        assert "Team blue notes" in page.inner_text("h2")

        page.set_input_files("#file", str(bad))
        page.click("text=Submit")
        errors = page.inner_text("#errors")
        assert "track 'nope' is not in the test set" in errors
        assert "1 test id is missing ('t0029')" in errors

        page.set_input_files("#file", str(good))
        page.click("text=Submit")
        assert "scored 1.00000 on the public part" in page.inner_text("#result")
        assert "scored" in page.inner_text("#history")

        page.click("text=Leaderboard")
        row = page.inner_text("table tbody tr")
        assert "blue notes" in row and "1.00000" in row
        assert "Private" not in page.inner_text("body")
        browser.close()
