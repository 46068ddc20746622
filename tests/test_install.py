"""The install paths: pins agree everywhere, the installed versions are the pinned ones, and
`make lab` serves the course."""
import os
import re
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _parse(lines):
    """{canonical name: (version, Requirement)} of the `name==version` lines that apply here."""
    pins = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate(default_environment()):
            continue
        spec = [s for s in req.specifier if s.operator == "=="]
        assert len(spec) == 1, f"{raw!r}: every pin must be exact (name==version)"
        pins[canonicalize_name(req.name)] = (spec[0].version, req)
    return pins


LOCK = _parse((ROOT / "requirements.lock").read_text().splitlines())


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PROJECT["optional-dependencies"]


def test_lock_pins_every_direct_dependency():
    for dep in PROJECT["dependencies"] + [d for deps in EXTRAS.values() for d in deps]:
        req = Requirement(dep)
        if req.marker is not None and not req.marker.evaluate(default_environment()):
            continue
        name = canonicalize_name(req.name)
        assert name in LOCK, f"{req.name} is a dependency in pyproject.toml but not pinned in requirements.lock"
        assert req.specifier.contains(LOCK[name][0], prereleases=True), (
            f"requirements.lock pins {name}=={LOCK[name][0]}, outside pyproject's range {req.specifier}")


def test_students_do_not_install_the_server_or_the_test_stack():
    course = {canonicalize_name(Requirement(d).name) for d in PROJECT["dependencies"]}
    assert set(EXTRAS) == {"instructor", "test"}
    for extra in ("instructor", "test"):
        names = {canonicalize_name(Requirement(d).name) for d in EXTRAS[extra]}
        assert not names & course, f"{sorted(names & course)} are both course and {extra} dependencies"
    assert {"fastapi", "psycopg", "uvicorn"} <= {canonicalize_name(Requirement(d).name)
                                                for d in EXTRAS["instructor"]}
    assert {"pytest", "playwright"} <= {canonicalize_name(Requirement(d).name) for d in EXTRAS["test"]}
    assert "'.[instructor,test]'" in (ROOT / "Makefile").read_text(), "make setup must install both extras"


def test_environment_yml_names_the_same_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"] if isinstance(d, str))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-r requirements.lock" in pip_section, "environment.yml must install requirements.lock"
    named = _parse(pip_section)
    assert len(named) >= 20
    for name, (version, _) in named.items():
        if name == "tinysoundfont":  # installed --no-deps in the pip path, so not in the lock
            assert f"tinysoundfont=={version}" in (ROOT / "Makefile").read_text()
            continue
        assert name in LOCK, f"environment.yml pins {name} but requirements.lock does not"
        assert LOCK[name][0] == version, (
            f"{name}: environment.yml pins {version}, requirements.lock pins {LOCK[name][0]}")


def test_installed_versions_are_the_pinned_ones():
    wrong = []
    for name, (version, _) in LOCK.items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}: pinned {version}, not installed")
            continue
        if have != version:
            wrong.append(f"{name}: pinned {version}, installed {have}")
    assert not wrong, "run `make setup` again (the lock changed?):\n" + "\n".join(wrong)


def test_python_is_311():
    assert sys.version_info[:2] == (3, 11)


def test_readme_quick_start_is_two_commands():
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^make (\w+)", quick, flags=re.M)
    assert commands == ["lab", "test"], commands


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.xdist_group("lab")
def test_make_lab_serves_the_lessons(tmp_path):
    port = _free_port()
    token = "mirkit-test-token"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"))
    args = f"--no-browser --ip=127.0.0.1 --IdentityProvider.token={token}"
    proc = subprocess.Popen(["make", "-s", "lab", f"PORT={port}", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        listing = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/api/contents/",
                                             headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=2) as resp:
                    listing = resp.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "make lab did not answer on its port within 90 s"
        lessons = sorted(p.name for p in (ROOT / "lessons").iterdir() if p.is_dir())
        for name in lessons:
            assert name in listing, f"JupyterLab does not show lessons/{name}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=5) as resp:
            assert resp.status == 200 and b"JupyterLab" in resp.read()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
