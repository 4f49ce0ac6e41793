"""The first run says what it does: with no place index yet, the command line says at once that it
is building one (about a minute) before it goes quiet; once built, it says nothing about it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POST = "У Харкові внаслідок обстрілу загинули 2 людини."


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAIMWATCH_", "TELEGRAM_"))}
    env.update(extra)
    return env


def test_the_first_run_says_it_is_building_the_place_index(tmp_path: Path) -> None:
    empty = tmp_path / "cache"
    child = subprocess.Popen([sys.executable, "-m", "bot.cli", "extract", "--lang", "uk"], cwd=REPO,
                             env=_env(CLAIMWATCH_CACHE_DIR=str(empty)), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdin is not None and child.stderr is not None
        child.stdin.write(POST)
        child.stdin.close()
        lines = [child.stderr.readline()]
        while lines[-1] and "place index" not in lines[-1] and len(lines) < 20:  # a warning may come first
            lines.append(child.stderr.readline())
        still_building = child.poll() is None  # said before the build, not after it
    finally:
        child.kill()
        child.wait(timeout=30)
    assert lines[-1] == f"claimwatch: building the place index in {empty} (the first run only; about a minute)…\n"
    assert still_building


def test_a_later_run_says_nothing_about_the_index(extractor) -> None:  # type: ignore[no-untyped-def]
    # the session's extractor has built the index in the default cache directory
    done = subprocess.run([sys.executable, "-m", "bot.cli", "extract", "--lang", "uk"], cwd=REPO, env=_env(),
                          input=POST, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and "place index" not in done.stderr
    assert [c["killed"] for c in json.loads(done.stdout)["claims"]] == [2]
