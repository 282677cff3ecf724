"""The server processes start with the collector tuned (server/gctuning.py): what the app
imported is frozen out of every collection, and young collections run ten times less
often. Checked in a fresh interpreter, since freezing this test process would change it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import gc, {module}; print(gc.get_freeze_count(), *gc.get_threshold())"


def _clean_env() -> dict[str, str]:
    """This process's environment without the GC switches (tests/conftest.py turns the
    freeze off for the test process itself)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SERVER_GC_")}


def _probe(module: str, **env: str) -> list[int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], cwd=ROOT, check=True,
        capture_output=True, text=True, timeout=120,
        env={**_clean_env(), "DJANGO_SETTINGS_MODULE": "server.settings", **env})
    return [int(x) for x in out.stdout.split()]


@pytest.mark.parametrize("module", ["server.asgi", "announce.asgi"])
def test_serving_modules_freeze_what_they_imported_and_raise_the_threshold(module):
    frozen, *thresholds = _probe(module)
    assert frozen > 10_000  # Django and the app, at least
    assert thresholds == [7000, 10, 10]


def test_the_environment_can_put_the_defaults_back():
    frozen, *thresholds = _probe("server.asgi", SERVER_GC_FREEZE="0",
                                 SERVER_GC_THRESHOLDS="700,10,10")
    assert frozen == 0
    assert thresholds == [700, 10, 10]


def test_a_bad_threshold_setting_says_what_is_expected():
    result = subprocess.run(
        [sys.executable, "-c", "import server.asgi"], cwd=ROOT, capture_output=True,
        text=True, timeout=120, env={**_clean_env(), "DJANGO_SETTINGS_MODULE": "server.settings",
                                     "SERVER_GC_THRESHOLDS": "lots"})
    assert result.returncode != 0
    assert "SERVER_GC_THRESHOLDS must be three whole numbers" in result.stderr
