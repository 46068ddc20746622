"""``make lab`` as a student gets it, started by a test on a free port (tests/test_student_*.py)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "mirkit-student-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StudentLab:
    """``make lab`` serving ``notebook_dir`` (default: the repository's lessons/).

    The server's own configuration comes from the Makefile (autograde/student/); the user
    folders (config, runtime, data) point into ``tmp`` so the tester's own Jupyter set-up
    does not leak in. ``log`` holds everything the server printed.
    """

    def __init__(self, tmp: Path, notebook_dir: Path | None = None, timeout: float = 120):
        self.tmp, self.notebook_dir, self.timeout = Path(tmp), notebook_dir, timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.tmp / "lab.log"

    def __enter__(self) -> "StudentLab":
        args = f"--no-browser --ip=127.0.0.1 --IdentityProvider.token={TOKEN}"
        where = [f"LAB_DIR={self.notebook_dir}"] if self.notebook_dir is not None else []
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(self.tmp / "cfg"),
                   JUPYTER_RUNTIME_DIR=str(self.tmp / "rt"), JUPYTER_DATA_DIR=str(self.tmp / "data"))
        env.pop("JUPYTER_CONFIG_PATH", None)
        env.pop("MIRKIT_HEADLESS", None)  # a student's lab is never headless (other tests set it)
        self.proc = subprocess.Popen(
            ["make", "-s", "lab", f"PORT={self.port}", f"LAB_ARGS={args}", *where], cwd=ROOT, env=env,
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                self.get("/api/status")
                return self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise AssertionError(f"make lab did not answer within {self.timeout:.0f} s:\n"
                             + self.log.read_text(errors="replace")[-3000:])

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def request(self, path: str, data: dict | None = None, timeout: float = 10):
        """(status, body) of a GET (or a JSON POST when ``data`` is given)."""
        body = None if data is None else json.dumps(data).encode()
        req = urllib.request.Request(self.url + path, data=body, headers={
            "Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")

    def get(self, path: str) -> str:
        status, body = self.request(path)
        if status != 200:
            raise OSError(f"{path}: HTTP {status}")
        return body


def copy_lesson(name: str, dest: Path) -> Path:
    """A scratch copy of lessons/<name>/ (JupyterLab autosaves: never run the repository's)."""
    shutil.copytree(ROOT / "lessons" / name, dest / name)
    return dest
