"""Drivers shared by every pygame app of the demo: a window loop, off-screen detection, GIF writing.

An app (:class:`App`) is plain Python state plus ``handle_event``, ``update`` and ``render``; :func:`run_window` shows
it in a window, :func:`open_window` does the same but reports (and returns False) when no window can be opened, so
the caller can write frames instead. pygame is imported lazily through :mod:`htmagent.envs.rendering`.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Protocol, Sequence

from htmagent.envs import rendering as R

__all__ = ["App", "SteppingApp", "display_available", "run_window", "open_window", "write_gif", "write_steps"]


class App(Protocol):
    """What :func:`run_window` drives (:class:`DemoApp`, :class:`~htmagent.demo.sequence.SequenceApp`)."""

    title: str
    playing: bool

    def handle_event(self, event: Any) -> bool:
        """React to one pygame event; False = quit."""

    def update(self, now: float) -> bool:
        """Do a small piece of work (learning, or a sensation when playing and due); True if the frame changed."""

    def render(self, footer: str = "") -> Any:
        """The current frame as a pygame Surface."""


class SteppingApp:
    """Keys and timing that every demo stepping a model shares: space = one step (and pause), enter = play / pause,
    s = screenshot, q / escape = quit; while playing, one step every ``interval`` seconds.

    Subclasses set :attr:`title` and :attr:`screenshot_prefix`, implement :meth:`render`, and may override
    :meth:`step` (what one step is: ``demo.step()`` by default) and :meth:`handle_key` (their own keys).

    Args:
        demo: the model the app shows.
        out_dir: where screenshots go.
        interval: seconds between steps while playing.
    """

    title = "htmagent demo"
    screenshot_prefix = "htmagent"

    def __init__(self, demo: Any, out_dir: str | os.PathLike = ".", interval: float = 0.3):
        self.demo = demo
        self.out_dir = Path(out_dir)
        self.interval = float(interval)
        self.playing = True
        self.screenshots: list[Path] = []
        self._due = 0.0

    def step(self) -> None:
        """One step of the model."""
        self.demo.step()

    def handle_key(self, key: int) -> None:
        """A key the shared ones do not cover (none by default)."""

    def handle_event(self, event: Any) -> bool:
        """React to one pygame event; False = quit."""
        pygame = R.require_pygame()
        if event.type == pygame.QUIT:
            return False
        if event.type != pygame.KEYDOWN:
            return True
        key = event.key
        if key in (pygame.K_q, pygame.K_ESCAPE):
            return False
        if key == pygame.K_SPACE:
            self.playing = False
            self.step()
        elif key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.playing = not self.playing
        elif key == pygame.K_s:
            self.screenshot()
        else:
            self.handle_key(key)
        return True

    def screenshot(self) -> Path:
        """Save the current frame as ``<screenshot_prefix>_<k>.png`` in ``out_dir``."""
        path = R.save_screenshot(self.render(), self.out_dir, self.screenshot_prefix, len(self.screenshots) + 1)
        self.screenshots.append(path)
        return path

    def update(self, now: float) -> bool:
        """One step when playing and due; True if the frame changed."""
        if not self.playing or now < self._due:
            return False
        self._due = now + self.interval
        self.step()
        return True

    def render(self, footer: str = "") -> Any:
        """The current frame as a pygame Surface."""
        raise NotImplementedError


def display_available() -> bool:
    """Whether a window can be opened (a display is set and SDL is not forced off-screen)."""
    if os.environ.get("SDL_VIDEODRIVER", "") in ("dummy", "offscreen"):
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def run_window(app: Any, fps: float = 30.0, max_seconds: Optional[float] = None) -> float:
    """Show ``app`` in a window until it quits; returns the seconds from the call to the first frame on screen.

    Work happens between frames in small pieces (``app.update``), the frame is redrawn only when a key was pressed
    or the app's state changed, and the measured frame rate is printed in a corner (what the window really achieves).

    Args:
        app: a :class:`DemoApp` or any object with ``title``, ``handle_event``, ``update`` and ``render``.
        fps: frames per second to aim for.
        max_seconds: close the window after this long (None: when the user quits).
    """
    pygame = R.require_pygame()
    start = time.perf_counter()
    pygame.display.init()
    pygame.display.set_caption(app.title)
    frame = app.render()
    window = pygame.display.set_mode(frame.get_size())
    window.blit(frame, (0, 0))
    pygame.display.flip()
    first_frame = time.perf_counter() - start
    clock = pygame.time.Clock()
    running = True
    while running:
        changed = False
        for event in pygame.event.get():
            running = running and app.handle_event(event)
            changed = changed or event.type == pygame.KEYDOWN
        if not running:
            break
        changed = app.update(time.perf_counter()) or changed
        if changed:
            frame = app.render()
        window.blit(frame, (0, 0))
        R.draw_text(window, f"{clock.get_fps():4.1f} fps", (window.get_width() - 20, 40), 15, R.MUTED,
                    anchor="topright")
        pygame.display.flip()
        clock.tick(fps)
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
    pygame.display.quit()
    return first_frame


def write_gif(frames: Sequence[Path], path: Path, durations: Sequence[int]) -> bool:
    """Write an animated GIF from PNG ``frames`` with Pillow; False (and nothing written) without Pillow."""
    try:
        from PIL import Image
    except ImportError:
        return False
    images = [Image.open(p).convert("RGB") for p in frames]
    if not images:
        return False
    palette = [im.quantize(colors=128, method=Image.Quantize.MEDIANCUT) for im in images]
    palette[0].save(path, save_all=True, append_images=palette[1:], duration=list(durations), loop=0,
                    optimize=False)
    return True


def write_steps(step: Callable[[int], None], still: Callable[[], Any], steps: int, out_dir: str | os.PathLike,
                name: str, every: int, gif: bool, duration_ms: int, log: Callable[[str], None] = print) -> list[Path]:
    """Run ``step(t)`` for ``t`` in ``range(steps)`` off-screen, saving ``still()`` (a frame without the play state and
    keys) as ``<name>_<k>.png`` every ``every`` steps and after the last, then ``<name>.gif`` with Pillow.

    Returns:
        The PNG frames written.

    Raises:
        ValueError: ``steps`` or ``every`` not an int >= 1 (nothing is run).
    """
    pygame = R.require_pygame()
    for label, value in (("steps", steps), ("every", every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be an int >= 1, got {value!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames: list[Path] = []
    for t in range(steps):
        step(t)
        if (t + 1) % every == 0 or t + 1 == steps:
            path = out / f"{name}_{len(frames) + 1:04d}.png"
            pygame.image.save(still(), str(path))
            frames.append(path)
    if gif and write_gif(frames, out / f"{name}.gif", [duration_ms] * len(frames)):
        log(f"wrote {len(frames)} frames and {name}.gif to {out}")
    else:
        log(f"wrote {len(frames)} frames to {out}")
    return frames


def open_window(app: Any, fps: float) -> bool:
    """Run ``app`` in a window; False (after a message) if no window can be opened, so the caller goes headless."""
    pygame = R.require_pygame()
    try:
        pygame.display.init()
        driver = pygame.display.get_driver()
        if driver in ("dummy", "offscreen"):  # SDL falls back to these when the display cannot be reached
            raise pygame.error(f"SDL video driver {driver!r} has no screen")
        first = run_window(app, fps)
    except pygame.error as error:
        pygame.display.quit()
        print(f"htmagent demo: cannot open a window ({error}); writing frames instead", file=sys.stderr)
        return False
    print(f"first frame on screen {first:.1f} s after the window was requested")
    return True
