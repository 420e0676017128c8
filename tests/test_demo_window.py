"""The demo in a real window: under Xvfb (a virtual X display), driven by real key presses (xdotool).

Skipped where Debian's ``xvfb`` and ``xdotool`` are not installed (``apt-get install xvfb xdotool``); ``.ci/run``
installs them where it can.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")),
                                reason="needs Xvfb and xdotool (Debian: apt-get install xvfb xdotool)")


def _wait_for(condition, what: str, limit: float = 120.0) -> None:
    """Poll ``condition`` (a hang guard, not a speed check: the generous limit only stops a stuck run)."""
    end = time.monotonic() + limit
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


@pytest.fixture()
def display():
    for number in range(90, 100):
        if not Path(f"/tmp/.X11-unix/X{number}").exists():
            break
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: Path(f"/tmp/.X11-unix/X{number}").exists(), "the X server")
    yield f":{number}"
    server.terminate()
    server.wait(timeout=30)


def test_the_window_opens_answers_keys_and_saves_screenshots(display, tmp_path):
    import pygame

    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    env.update(DISPLAY=display, SDL_AUDIODRIVER="dummy")
    shots = tmp_path / "shots"
    demo = subprocess.Popen([sys.executable, "-m", "htmagent", "demo", "--out", str(shots), "--objects", "6",
                             "--features", "4", "--interval", "0.3"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def key(name: str, pause: float = 1.0) -> None:
        subprocess.run(["xdotool", "key", name], env=env, check=True)
        time.sleep(pause)

    def screenshots() -> list[Path]:
        return sorted(shots.glob("htmagent_demo_*.png"))

    try:
        # The window is up once it answers: a screenshot key writes a file.
        _wait_for(lambda: key("s", 0.5) is None and len(screenshots()) >= 1, "the window's first screenshot")
        for name in ("space", "space", "r", "p", "1", "3"):  # sensations, next object, policy, column counts
            key(name)
        key("space", 2.0)
        key("s")
        key("5", 3.0)  # five columns: a new network learns the library first
        key("space", 2.0)
        key("s")
        _wait_for(lambda: len(screenshots()) >= 3, "the last screenshots")
        key("q", 0.5)
        out, err = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, err[-2000:]
    assert "first frame on screen" in out and "episode" in out  # a real window, then the episodes' table
    images = [pygame.surfarray.array3d(pygame.image.load(str(p))) for p in screenshots()[-3:]]
    assert all(image.shape == (1280, 760, 3) for image in images)
    assert not np.array_equal(images[-2], images[-1])  # the 3-column and 5-column frames differ
