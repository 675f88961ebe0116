"""The README's commands, run as written on a fresh clone.

Every ``.venv/bin/python -m lab ...`` line of the README (continuation lines joined;
``[optional parts]`` left out) runs in a ``git clone`` of this repository with its own
data folder, and must succeed; ``path/to/bars.csv`` is a real sample written there.
``make run PORT=...`` must serve the app on that port and print its URL. ``make test``
is this suite itself, and the benchmark lines are run by hand (they take minutes).
``path/to/GLBX.MDP3_ohlcv-1m.dbn.zst`` is the committed Databento fixture. ``download``
and ``refresh`` need the venues' network and are run against local stand-ins by the
source tests. The ``bot`` lines start a live process and are run by the live tests;
run here as written, ``bot check`` right after ``bot start`` (the bot still replaying)
exits 1 with "replay check: DIFFERENT".
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("readme")]

README = ROOT / "README.md"


def readme_commands(prefix: str = ".venv/bin/python -m lab") -> list[str]:
    """The README's command lines starting with ``prefix``, optional parts removed and
    ``a|b|c`` alternatives expanded into one command each, in the README's order."""
    commands = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", README.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(prefix):
                words = re.sub(r"\[[^\]]*\]", " ", line).split()
                alt = next((i for i, w in enumerate(words) if "|" in w), None)
                for choice in (words[alt].split("|") if alt is not None else [None]):
                    if choice is not None:
                        words[alt] = choice
                    commands.append(" ".join(words))
    return commands


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A fresh clone of the committed repository, with the shared venv and a data folder."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    base = tmp_path_factory.mktemp("readme")
    repo = base / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    if not (repo / ".venv").exists():
        (repo / ".venv").symlink_to((ROOT / ".venv").resolve())
    import pandas as pd

    bars = pd.read_parquet(ROOT / "data" / "samples" / "AAPL_1d.parquet")
    (repo / "path" / "to").mkdir(parents=True)
    bars.tail(1500).to_csv(repo / "path" / "to" / "bars.csv", index=False)
    dbn = "GLBX.MDP3_ohlcv-1m.dbn.zst"
    (repo / "path" / "to" / dbn).write_bytes(
        (ROOT / "tests" / "venues" / "data" / "databento" / dbn).read_bytes())
    env = {**os.environ, "LAB_DATA_DIR": str(base / "data"), "MLFLOW_TRACKING_URI": ""}
    env.pop("MLFLOW_TRACKING_URI")
    # a second contract month for `continuous` (real ESH14 minute bars, Lean, Apache-2.0),
    # stored here too: xdist may run `continuous` before the README's ingest of it
    es = pd.read_csv(ROOT / "tests" / "fixtures" / "lean_es" / "es_contracts_1m.csv.gz")
    esh14 = repo / "path" / "to" / "ESH14_1m.csv"
    es[es["contract"] == "ESH14"].drop(columns="contract").rename(
        columns={"ts_event": "timestamp"}).to_csv(esh14, index=False)
    subprocess.run([".venv/bin/python", "-m", "lab", "ingest", str(esh14), "--symbol",
                    "ESH14", "--asset-class", "future"], cwd=repo, env=env, check=True,
                   capture_output=True, timeout=600)
    return repo, env


#: Commands run elsewhere (see the module docstring).
ELSEWHERE = ("bot", "download", "refresh")


def research_commands() -> list[str]:
    return [c for c in readme_commands() if c.split()[3] not in ELSEWHERE]


def test_the_readme_names_every_cli_command():
    names = {c.split()[3] for c in research_commands()}
    assert {"datasets", "strategies", "backtest", "ingest", "sweep", "walkforward",
            "optimize"} <= names


@pytest.mark.parametrize("command", research_commands(),
                         ids=lambda c: " ".join(c.split()[3:5]))
def test_a_readme_cli_command_runs_as_written(clone, command):
    repo, env = clone
    done = subprocess.run(shlex.split(command), cwd=repo, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert done.stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_run_serves_on_the_port_it_is_given_and_prints_the_url(clone):
    repo, env = clone
    port = _free_port()
    proc = subprocess.Popen(["make", "-s", "run", f"PORT={port}"], cwd=repo, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"make run PORT={port} did not serve")
        taken = subprocess.run(["make", "-s", "run", f"PORT={port}"], cwd=repo, env=env,
                               capture_output=True, text=True, timeout=120)
        assert taken.returncode != 0
        assert f"Port {port} is taken" in taken.stdout + taken.stderr
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert f"Serving the lab at {url}" in out
