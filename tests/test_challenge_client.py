"""The student client (mirkit.challenge): writing, checking and sending a submission, from Python
and from the command line, against the real app (through FastAPI's TestClient)."""
import numpy as np
import pytest
from fastapi.testclient import TestClient

from autograde.leaderboard import Leaderboard
from autograde.leaderboard.app import create_app
from autograde.leaderboard.testing import free_port, write_labels
from mirkit.challenge import ChallengeError, Client, id_problems, write_submission
from mirkit.challenge.__main__ import main


@pytest.fixture
def server(tmp_path):
    ids, truth = write_labels(tmp_path / "labels.csv", n=20)
    lb, _ = Leaderboard.create(str(tmp_path / "c.sqlite"), tmp_path / "labels.csv", daily_limit=2)
    (_, _, token), = lb.add_students([{"name": "finn"}])
    with TestClient(create_app(lb), base_url="http://lb.test") as http:
        yield ids, truth, token, http
    lb.engine.dispose()


def test_write_check_submit_list_select(server, tmp_path):
    ids, truth, token, http = server
    client = Client("http://lb.test", token, http=http)
    path = write_submission(tmp_path / "p.csv", ids, np.array([int(t) for t in truth]),
                            expected_ids=client.ids())
    assert path.read_text().splitlines()[:2] == ["track,genre_id", f"{ids[0]},{truth[0]}"]
    sub = client.submit(path)
    assert sub["public_score"] == 1.0 and sub["status"] == "scored"
    client.select(sub["id"])
    (listed,) = client.submissions()
    assert listed["selected"] and "private_score" not in listed
    assert client.competition()["metric"] == "accuracy"


def test_local_check_stops_a_bad_file_before_sending(server, tmp_path):
    ids, truth, token, http = server
    client = Client("http://lb.test", token, http=http)
    (tmp_path / "bad.csv").write_text("track,genre_id\n" + "".join(
        f"{i},{t}\n" for i, t in zip(ids[:-1] + [ids[0]], truth)))
    with pytest.raises(ChallengeError) as err:
        client.submit(tmp_path / "bad.csv")
    assert "was not sent" in str(err.value)
    assert err.value.errors == ["1 ids appear more than once ('t0000'): keep one line per id",
                                "1 test ids are missing ('t0019'): predict every id of the test set"]
    assert client.submissions() == []                     # nothing reached the server
    with pytest.raises(ValueError, match="do not match the test set"):
        write_submission(tmp_path / "x.csv", ids[:3], truth[:3], expected_ids=ids)


def test_server_rejections_are_explained(server, tmp_path):
    ids, truth, token, http = server
    client = Client("http://lb.test", token, http=http)
    (tmp_path / "bad.csv").write_text("track,genre_id\n" + "".join(
        f"{i},x\n" for i in ids))
    with pytest.raises(ChallengeError) as err:
        client.submit(tmp_path / "bad.csv", check=False)
    assert "Refused (422)" in str(err.value)
    assert err.value.errors[0] == "line 2: genre_id 'x' is not a known label. Use one of: '0', '1', '2', '3'."
    good = write_submission(tmp_path / "good.csv", ids, truth)
    client.submit(good)
    client.submit(good)
    with pytest.raises(ChallengeError, match=r"Refused \(429\).*midnight UTC"):
        client.submit(good)
    with pytest.raises(ChallengeError, match="does not know this token"):
        Client("http://lb.test", "wrong", http=http).submissions()


def test_network_errors_and_missing_settings_say_what_to_do(monkeypatch, tmp_path):
    monkeypatch.delenv("MIRKIT_CHALLENGE_URL", raising=False)
    monkeypatch.delenv("MIRKIT_CHALLENGE_TOKEN", raising=False)
    with pytest.raises(ChallengeError, match="MIRKIT_CHALLENGE_URL"):
        Client()
    url = f"http://127.0.0.1:{free_port()}"          # nothing listens there
    with pytest.raises(ChallengeError, match="Cannot reach the leaderboard at .*server is running"):
        Client(url, "tok").ids()
    with pytest.raises(ChallengeError, match="No token"):
        Client(url).submissions()


def test_probability_rows_need_their_labels(tmp_path):
    path = write_submission(tmp_path / "p.csv", ["a", "b"], [[0.2, 0.8], [1, 0]],
                            labels=["jazz", "rock"])
    assert path.read_text().splitlines() == ["track,jazz,rock", "a,0.2,0.8", "b,1.0,0.0"]
    with pytest.raises(ValueError, match="labels="):
        write_submission(tmp_path / "q.csv", ["a"], [[0.2, 0.8]])
    assert id_problems(["a", "c"], ["a", "b"]) == [
        "1 ids are not in the test set ('c')",
        "1 test ids are missing ('b'): predict every id of the test set"]


def test_cli_submit_and_list(server, tmp_path, monkeypatch, capsys):
    ids, truth, token, http = server
    import mirkit.challenge as challenge
    monkeypatch.setattr(challenge.httpx, "Client", lambda **kw: http)   # the CLI builds its own
    monkeypatch.setenv("MIRKIT_CHALLENGE_URL", "http://lb.test")
    monkeypatch.setenv("MIRKIT_CHALLENGE_TOKEN", token)
    write_submission(tmp_path / "p.csv", ids, truth)
    assert main(["submit", str(tmp_path / "p.csv")]) == 0
    assert "public score 1.00000" in capsys.readouterr().out
    assert main(["list"]) == 0
    assert "scored" in capsys.readouterr().out
    (tmp_path / "e.csv").write_text("")
    assert main(["submit", str(tmp_path / "e.csv")]) == 1
    assert "the file is empty" in capsys.readouterr().err


def test_a_server_error_says_the_file_was_not_accepted():
    import httpx

    broken = httpx.Client(base_url="http://lb.test",
                          transport=httpx.MockTransport(lambda req: httpx.Response(500, text="Internal Server Error")))
    with pytest.raises(ChallengeError, match="not accepted. Try again"):
        Client(token="tok", http=broken).submissions()
