"""The student's side of handing in (mirkit.challenge): ``Client.handin`` waits for the grade,
the command line prints it, a broken connection is retried with the same key, and the
notebook button finds its notebook and stays silent headless. Against the real app (FastAPI's
TestClient) with the stand-in grader running in a thread."""
import json
import re
import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from autograde.leaderboard import Leaderboard
from autograde.leaderboard.app import create_app
from autograde.leaderboard.grader import Grader
from autograde.leaderboard.testing import fake_grade, notebook_bytes, write_labels
from mirkit.challenge import ChallengeError, Client, describe_grade, handin_button
from mirkit.challenge.__main__ import main
from mirkit.challenge.button import notebook_path

LESSON = "01-artificial-neuron"


@pytest.fixture
def server(tmp_path):
    write_labels(tmp_path / "labels.csv", n=20)
    lb, _ = Leaderboard.create(str(tmp_path / "c.sqlite"), tmp_path / "labels.csv")
    (_, _, token), = lb.add_students([{"name": "finn"}])
    lb.set_handin_lesson(LESSON, max_handins=5)
    stop = threading.Event()
    grader = threading.Thread(target=Grader(lb, grade=fake_grade).run, args=(stop, 0.05))
    with TestClient(create_app(lb), base_url="http://lb.test") as http:
        grader.start()
        yield lb, token, http
        stop.set()
        grader.join()
    lb.engine.dispose()


def lesson_file(tmp_path, score=2.0, name=LESSON):
    path = tmp_path / name / f"{name}.ipynb"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(notebook_bytes(score=score, text=str(score)))
    return path


def test_handin_waits_for_the_grade(server, tmp_path):
    lb, token, http = server
    client = Client("http://lb.test", token, http=http)
    assert [x["lesson"] for x in client.handin_lessons()] == [LESSON]
    h = client.handin(lesson_file(tmp_path, 1.5), poll=0.05)   # the lesson from the file name
    assert (h["status"], h["score"], h["max_score"]) == ("graded", 1.5, 2)
    text = describe_grade(h)
    assert "1.5 / 2 points" in text and "✗ ex-tests: 1.5 / 2  AssertionError: expected 2" in text
    queued = client.handin(lesson_file(tmp_path, 2.0), wait=False)
    assert queued["status"] == "queued" and "not back yet" in describe_grade(queued)
    assert [x["id"] for x in client.handins()] == [queued["id"], h["id"]]


def test_bad_hand_ins_are_explained(server, tmp_path):
    lb, token, http = server
    client = Client("http://lb.test", token, http=http)
    with pytest.raises(ChallengeError, match="No file"):
        client.handin(tmp_path / "nope.ipynb")
    (tmp_path / "x.ipynb").write_text("print('hi')")
    with pytest.raises(ChallengeError, match="not a Jupyter notebook"):
        client.handin(tmp_path / "x.ipynb")
    with pytest.raises(ChallengeError, match=rf"Refused \(404\).*{LESSON}"):
        client.handin(lesson_file(tmp_path, name="02-backpropagation"))
    assert client.handins() == []


def test_a_broken_connection_is_retried_with_the_same_key(server, tmp_path):
    lb, token, http = server
    seen, lost_once = [], []

    def flaky(request):
        # the first upload reaches the server, then the answer is lost on the way back
        response = http.request(request.method, str(request.url), headers=request.headers,
                                content=request.read())
        if request.url.path == "/api/handins" and request.method == "POST":
            seen.append(re.search(rb'name="key"\r\n\r\n(\w+)', request.read()).group(1))
            if not lost_once:
                lost_once.append(1)
                raise httpx.ReadError("connection reset")
        return httpx.Response(response.status_code, content=response.content,
                              headers=response.headers)

    client = Client(token=token, http=httpx.Client(base_url="http://lb.test",
                                                   transport=httpx.MockTransport(flaky)))
    h = client.handin(lesson_file(tmp_path), wait=False)
    assert len(seen) == 2 and seen[0] == seen[1]                 # sent twice, same key
    assert [x["id"] for x in lb.all_handins()] == [h["id"]]      # recorded once


def test_cli_handin_prints_the_grade(server, tmp_path, monkeypatch, capsys):
    lb, token, http = server
    import mirkit.challenge as challenge
    monkeypatch.setattr(challenge.httpx, "Client", lambda **kw: http)   # the CLI builds its own
    monkeypatch.setenv("MIRKIT_CHALLENGE_URL", "http://lb.test")
    monkeypatch.setenv("MIRKIT_CHALLENGE_TOKEN", token)
    assert main(["handin", str(lesson_file(tmp_path, 2.0))]) == 0
    out = capsys.readouterr().out
    assert "save it first" in out and "2 / 2 points" in out and "✓ ex-tests" in out
    assert main(["handins"]) == 0
    assert "graded   2/2" in capsys.readouterr().out
    (tmp_path / "e.ipynb").write_text("{}")
    assert main(["handin", str(tmp_path / "e.ipynb")]) == 1
    assert "not a Jupyter notebook" in capsys.readouterr().err


def test_button_finds_its_notebook_and_is_silent_headless(tmp_path, monkeypatch):
    nb = lesson_file(tmp_path)
    assert notebook_path(str(nb)) == nb.resolve()                       # JupyterLab: absolute
    monkeypatch.chdir(nb.parent)
    assert notebook_path(f"lessons/{nb.name}") == nb.resolve()          # relative to the root
    assert notebook_path("elsewhere/missing.ipynb") is None
    monkeypatch.setenv("MIRKIT_HEADLESS", "1")
    assert handin_button(nb) is None
    monkeypatch.setenv("MIRKIT_HEADLESS", "0")
    box = handin_button(nb, url="http://lb.test", token="t")
    assert [type(w).__name__ for w in box.children] == ["HTML", "Button", "Output"]
    assert nb.name in box.children[0].value and "Save" in box.children[0].value
    json.loads(nb.read_text())          # untouched
