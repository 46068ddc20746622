"""Group commit (store.GroupCommit): writes of many threads share a transaction, each thread gets
its own job's result, and a job that fails makes only its own caller fail."""
import threading
import time

import pytest

from autograde.leaderboard.store import GroupCommit

pytestmark = pytest.mark.xdist_group("leaderboard_commit")


class FakeDatabase:
    """commit(jobs): runs the jobs in one 'transaction' that takes 20 ms (the disk), which
    fails as a whole if one job raises, like a real transaction is rolled back."""

    def __init__(self):
        self.batches, self.committed = [], []

    def commit(self, jobs):
        results = [job.fn(None) for job in jobs]    # raises: nothing of this batch is kept
        time.sleep(0.02)
        self.batches.append(len(jobs))
        self.committed.extend(results)
        return results


def run_threads(group, values):
    got, errors, start = {}, {}, threading.Barrier(len(values))

    def worker(v):
        start.wait()
        try:
            got[v] = group.run(lambda conn: v if v != "bad" else 1 / 0)
        except ZeroDivisionError as exc:
            errors[v] = exc

    threads = [threading.Thread(target=worker, args=(v,)) for v in values]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got, errors


def test_jobs_share_commits_and_each_caller_gets_its_own_result():
    db = FakeDatabase()
    got, errors = run_threads(GroupCommit(db.commit), list(range(30)))
    assert got == {v: v for v in range(30)} and not errors
    assert sorted(db.committed) == list(range(30))              # each exactly once
    assert len(db.batches) < 30 and max(db.batches) > 1          # some commits were shared


def test_a_failing_job_fails_alone():
    db = FakeDatabase()
    got, errors = run_threads(GroupCommit(db.commit), [*range(20), "bad"])
    assert got == {v: v for v in range(20)}
    assert set(errors) == {"bad"}
    assert sorted(db.committed) == list(range(20))              # none lost, none twice


def test_ungrouped_runs_each_job_in_its_own_commit():
    db = FakeDatabase()
    got, _ = run_threads(GroupCommit(db.commit, grouped=False), list(range(10)))
    assert got == {v: v for v in range(10)} and db.batches == [1] * 10
