"""Fixtures shared by several test files."""
import pytest

from autograde.leaderboard.testing import PostgresServer, postgres_unavailable


@pytest.fixture(scope="module")
def pg_server():
    """A throw-away PostgreSQL server (initdb + pg_ctl) for one test module; skipped, with the
    reason, when the binaries are absent (``.ci/system-deps`` installs them)."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(f"no PostgreSQL for the PostgreSQL variant: {reason}")
    server = PostgresServer(fsync=False).start()
    yield server
    server.stop()
