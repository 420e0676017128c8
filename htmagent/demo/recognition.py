"""The object-recognition demo: watch cortical columns recognize an object, in a pygame window or as PNG frames.

The demo learns a small built-in library of objects (features on a 4x4 grid, a few seconds), then plays recognition
episodes: at every sensation each column's sensor touches one point of the object, L4 pairs the feature with the
location (predicted cells fire, unexpected input bursts), L2/3 pools L4 into object codes and the columns vote, so the
set of objects each column's L2/3 still represents shrinks to one. Beside the network, an ideal observer senses the
same points and shows the best any model could do.

Structure: :class:`RecognitionDemo` is the model (plain Python state, one sensation or one learned object per call);
:meth:`RecognitionDemo.scene` turns it into plain data and :func:`~htmagent.demo.view.render_recognition` draws that
with the shared drawing functions of :mod:`htmagent.envs.rendering` (the same ones the environments' ``human`` and
``rgb_array`` modes use). :class:`DemoApp` maps keys to actions for :func:`~htmagent.demo.app.run_window`; :func:`run_headless` plays
episodes off-screen and writes PNG frames and a GIF.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from htmagent._rng import make_rng
from htmagent._validation import is_int
from htmagent.cortex.baselines import IdealObserver
from htmagent.cortex.network import Network
from htmagent.cortex.objects import ObjectSet, SensoryObject
from htmagent.demo.app import SteppingApp, write_gif
from htmagent.demo.view import (
    FRAME_SIZE,
    KEY_HELP,
    ColumnView,
    RecognitionScene,
    render_recognition,
)
from htmagent.envs import rendering as R
from htmagent.agent.motor import make_policy

__all__ = [
    "FRAME_SIZE",
    "KEY_HELP",
    "DemoConfig",
    "RecognitionDemo",
    "RecognitionScene",
    "ColumnView",
    "DemoApp",
    "EpisodeSummary",
    "render_recognition",
    "find_grid_layer",
    "run_headless",
    "format_summary",
]

POLICIES = ("random", "hypothesis")


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the object-recognition demo.

    Attributes:
        num_objects: objects in the built-in library (``ObjectSet.lewis2019``: features on distinct cells of a grid).
        num_features: feature pool; fewer features = more shared features = more sensations needed.
        features_per_object: points per object (<= ``grid_size ** 2``).
        grid_size: side of the object grid.
        num_columns: columns (sensors) at start, 1 to 5.
        policy: motor policy at start, ``"random"`` or ``"hypothesis"``.
        max_sensations: an episode stops here if the network has not recognized the object.
        repetitions: time steps per point while learning.
        location: ``"grid"`` (grid-cell modules that path-integrate each sensor's movements, the 2019 paper's L6a;
            the default) or ``"random"`` (the 2017 paper's fixed random code per location).
        novel_every: every ``novel_every``-th episode presents an object the network never learned (random features
            at the library's locations): its L4 cells burst (surprise) and no object keeps the columns' backing.
            ``0``: never.
        seed: seed of the library, the networks and the episodes.
    """

    num_objects: int = 20
    num_features: int = 8
    features_per_object: int = 10
    grid_size: int = 4
    num_columns: int = 3
    policy: str = "random"
    max_sensations: int = 10
    repetitions: int = 3
    location: str = "grid"
    novel_every: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("num_objects", "num_features", "features_per_object", "grid_size", "max_sensations",
                     "repetitions"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if isinstance(self.num_columns, bool) or not isinstance(self.num_columns, int) or \
                not 1 <= self.num_columns <= 5:
            raise ValueError(f"num_columns must be an int in [1, 5], got {self.num_columns!r}")
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {self.policy!r}")
        if self.location not in ("random", "grid"):
            raise ValueError(f"location must be 'random' or 'grid', got {self.location!r}")
        if not is_int(self.novel_every) or self.novel_every < 0:
            raise ValueError(f"novel_every must be an int >= 0, got {self.novel_every!r}")


@dataclass(frozen=True)
class EpisodeSummary:
    """How one recognition episode ended.

    Attributes:
        episode: 1-based episode number.
        target: label of the presented object.
        label: object the network recognized after the last sensation (``None``: none).
        sensation: sensation from which the network recognized ``label`` without interruption (``None``).
        ideal_sensation: sensation at which the ideal observer, sensing the same points, had one object left.
        sensations: sensations played.
        num_columns: columns used.
        policy: motor policy used.
        novel: the object was one the network never learned (``target`` is then ``-1``).
    """

    episode: int
    target: int
    label: Optional[int]
    sensation: Optional[int]
    ideal_sensation: Optional[int]
    sensations: int
    num_columns: int
    policy: str
    novel: bool = False

    @property
    def correct(self) -> bool:
        """The network recognized the presented object (a never-learned object: it named none)."""
        return self.label is None if self.novel else self.label == self.target


def find_grid_layer(source: Any) -> Any:
    """The grid-cell population (e.g. a :class:`~htmagent.gridcells.LocationLayer`) behind a location source, or
    ``None`` if the source has none (the default random location codes).

    Looks at the source itself and at its attributes, so any grid-cell source that keeps its layer as an attribute is
    drawn without the demo knowing its class.
    """
    from htmagent.gridcells._population import GridCellPopulation

    if isinstance(source, GridCellPopulation):
        return source
    for value in vars(source).values() if hasattr(source, "__dict__") else ():
        if isinstance(value, GridCellPopulation):
            return value
    return None


def _grid_modules(layer: Any) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    n = layer.cells_per_axis
    active = layer.active_cells.dense.reshape(layer.num_modules, n, n)
    # A module's cell index is ``i0 * n + i1`` (i0 along phase axis 0); the sheet is drawn with axis 0 across.
    return tuple((active[m].T.astype(bool), layer.bump_phases(m)) for m in range(layer.num_modules))


class RecognitionDemo:
    """The demo's model: the object library, one network per column count (learned on demand, one object per call),
    and the current recognition episode.

    Args:
        config: settings.
        make_network: ``(num_columns, seed) -> Network`` (default: from ``config.location``); lets a test plug in a
            network with its own location sources.
    """

    def __init__(self, config: DemoConfig = DemoConfig(),
                 make_network: Optional[Callable[[int, int], Network]] = None):
        self.config = config
        self.objects = ObjectSet.lewis2019(config.num_objects, num_features=config.num_features,
                                           features_per_object=config.features_per_object,
                                           grid_size=config.grid_size, seed=config.seed)
        self._make_network = make_network or self._default_network
        self._rng = make_rng(config.seed)
        self._networks: dict[int, Network] = {}
        self._learned: dict[int, int] = {}
        self._order = self._rng.permutation(len(self.objects))
        self._cursor = 0
        self._started = 1  # episodes started, the current one included
        self.novel = False
        self.num_columns = config.num_columns
        self.policy_name = config.policy
        self.episode = 0
        self.summaries: list[EpisodeSummary] = []
        self._network(self.num_columns)
        self._start_episode(int(self._order[0]))

    # ------------------------------------------------------------ networks
    def _default_network(self, num_columns: int, seed: int) -> Network:
        return Network(num_columns=num_columns, location=self.config.location, seed=seed)

    def _network(self, n: int) -> Network:
        if n not in self._networks:
            self._networks[n] = self._make_network(n, self.config.seed + 1000 * n)
            self._learned[n] = 0
        return self._networks[n]

    @property
    def network(self) -> Network:
        """The network with the current number of columns."""
        return self._network(self.num_columns)

    @property
    def ready(self) -> bool:
        """The current network has learned the whole library."""
        return self._learned[self.num_columns] == len(self.objects)

    @property
    def learning_progress(self) -> tuple[int, int]:
        """``(objects learned, library size)`` of the current network."""
        return self._learned[self.num_columns], len(self.objects)

    def learn_step(self) -> bool:
        """Learn the next object of the library (one object: a fraction of a second). Returns True if it learned."""
        n = self.num_columns
        done = self._learned[n]
        if done == len(self.objects):
            return False
        self.network.learn([self.objects[done]], repetitions=self.config.repetitions)
        self._learned[n] = done + 1
        if self.ready:
            self.restart()
        return True

    def warm_up(self) -> None:
        """Run every numba kernel the demo uses once, on a throwaway one-column network (compiles them on a cold
        cache; loads them from the cache otherwise). Touches nothing of this demo, so it may run in a thread."""
        net = self._make_network(1, self.config.seed)
        net.learn([self.objects[0]], repetitions=2)
        obj = self.objects[0]
        net.step([(obj.locations[0], obj.points[obj.locations[0]])], learn=False)

    def learn_all(self) -> None:
        """Learn the rest of the library at once (headless runs)."""
        while self.learn_step():
            pass

    # ------------------------------------------------------------ episodes
    def _start_episode(self, target: int, obj: Optional[SensoryObject] = None) -> None:
        self.novel = obj is not None
        self.target = -1 if self.novel else target
        self.obj: SensoryObject = obj if self.novel else self.objects[target]
        self.episode_seed = int(self._rng.integers(2**31))
        self._episode_rng = make_rng(self.episode_seed)
        self.policy = make_policy(self.policy_name, self.num_columns, self.network.learned_objects)
        self.policy.reset(self._episode_rng, surface=self.obj.locations)
        n = self.num_columns
        self.paths: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        self.visited: list[tuple[int, int]] = []
        self.sensation = 0
        self.overlaps = np.zeros((n, len(self.objects)), dtype=np.int64)
        self.recognized: Optional[int] = None
        self.recognized_at: Optional[int] = None
        self.recognized_history: list[Optional[int]] = []
        # The ideal observer gets the network's information: given locations (random codes), or each sensor's own
        # movements (grid cells; no column knows where the other sensors are).
        self.ideal = (IdealObserver(self.objects, mode="displacement", shared_origin=False) if self._grid_layers()
                      else IdealObserver(self.objects, mode="location"))
        self.ideal_at: Optional[int] = None
        self.finished = False
        self._arrival: Optional[list[tuple[np.ndarray, int, int]]] = None
        if self.ready:
            self.network.reset()

    def next_object(self) -> None:
        """Start an episode on the next object of the shuffled library (every ``novel_every``-th: a new object)."""
        self._started += 1
        every = self.config.novel_every
        if every and self._started % every == 0:
            self._start_episode(-1, self._novel_object())
            return
        self._cursor = (self._cursor + 1) % len(self._order)
        self._start_episode(int(self._order[self._cursor]))

    def _novel_object(self) -> SensoryObject:
        """An object never learned: random features of the pool at as many of the library's locations as its
        objects have."""
        rng = self._rng
        locations = sorted({p for o in self.objects for p in o.locations})
        count = min(self.config.features_per_object, len(locations))
        chosen = sorted(rng.choice(len(locations), count, replace=False))
        points = {locations[i]: int(rng.integers(self.objects.num_features)) for i in chosen}
        return ObjectSet.from_dicts([points], num_features=self.objects.num_features)[0]

    def restart(self) -> None:
        """Start the current object again (after a change of columns or policy)."""
        self._start_episode(self.target, self.obj if self.novel else None)

    def set_columns(self, n: int) -> None:
        """Use ``n`` columns (1-5); a network with ``n`` columns is learned first if there is none yet."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 5:
            raise ValueError(f"n must be an int in [1, 5], got {n!r}")
        self.num_columns = n
        self._network(n)
        self.restart()

    def switch_policy(self) -> str:
        """Switch to the other motor policy and restart the episode; returns the new policy's name."""
        self.policy_name = POLICIES[(POLICIES.index(self.policy_name) + 1) % len(POLICIES)]
        self.restart()
        return self.policy_name

    def sense(self) -> bool:
        """One sensation: every column's sensor moves to the point its policy picks and senses the feature there.

        Returns:
            False if nothing happened (still learning, or the episode has finished).
        """
        if not self.ready or self.finished:
            return False
        net, n = self.network, self.num_columns
        here = np.array([path[-1] if path else (0, 0) for path in self.paths], dtype=np.int64).reshape(n, 2)
        moves = self.policy.next_jumps(net.candidates(self.overlaps))
        chosen = [tuple(int(v) for v in p) for p in here + moves]
        observations = [(p, int(self.obj.points[p])) for p in chosen]
        # The first time step is the moment the touch arrives: L4 either expected it (predicted cells fire) or bursts.
        # Keep that picture; the sensation is then held for the other settling steps, as Network.infer holds it.
        net.step(observations, learn=False, settling_steps=1)
        self._arrival = [self._l4_view(col) for col in net.columns]
        if net.default_settling_steps > 1:
            net.step(observations, learn=False, settling_steps=net.default_settling_steps - 1)
        self.policy.observe(moves, [f for _, f in observations])
        self.sensation += 1
        self.visited.extend(chosen)
        for path, point in zip(self.paths, chosen):
            path.append(point)
        self.overlaps = np.array([net.overlaps(c) for c in range(n)])
        label = net.recognized_label()
        if label != self.recognized:
            self.recognized_at = self.sensation if label is not None else None
        self.recognized = label
        self.recognized_history.append(label)
        if self.ideal.step(observations) is not None and self.ideal_at is None:
            self.ideal_at = self.sensation
        rejected = self.novel and self.sensation >= 2 and not self.network_candidates()
        self.finished = (self.recognized is not None or rejected
                         or self.sensation >= self.config.max_sensations)
        if self.finished:  # an episode cut short by a key press is not counted
            self.episode += 1
            self.summaries.append(EpisodeSummary(self.episode, self.target, self.recognized, self.recognized_at,
                                                 self.ideal_at, self.sensation, self.num_columns, self.policy_name,
                                                 novel=self.novel))
        return True

    def network_candidates(self) -> list[int]:
        """Objects the network still considers possible: overlap >= half a code in every column."""
        if self.sensation == 0:
            return list(range(len(self.objects)))
        half = self.network.l2_params.sdr_size // 2
        return np.flatnonzero(np.all(self.overlaps >= half, axis=0)).tolist()

    @staticmethod
    def _l4_view(column: Any) -> tuple[np.ndarray, int, int]:
        """A column's L4 now: its cell states, bursting and predicted minicolumns."""
        l4 = column.l4
        states = R.tm_cell_states(l4.column_count, l4.cells_per_column, l4.active_cells.sparse,
                                  l4.predictive_cells.sparse, l4.bursting_columns.sparse)
        active_columns = np.unique(l4.active_cells.sparse // l4.cells_per_column).size
        bursting = l4.bursting_columns.num_active
        return states, bursting, active_columns - bursting

    def _grid_layers(self) -> list[Any]:
        return [layer for layer in (find_grid_layer(s) for s in self.network.location_sources) if layer is not None]

    # ------------------------------------------------------------ frames
    def scene(self, playing: bool = False, footer: str = "", interactive: bool = True) -> RecognitionScene:
        """The current state as plain data for :func:`render_recognition` (``interactive=False``: a still frame,
        without the play state and the keys)."""
        net = self.network
        columns = []
        for c, col in enumerate(net.columns):
            states, bursting, predicted = (self._arrival[c] if self._arrival is not None and self.ready
                                           else self._l4_view(col))
            layer = find_grid_layer(net.location_sources[c])
            columns.append(ColumnView(
                l4_states=states, overlaps=self.overlaps[c].copy() if self.ready else np.zeros(len(self.objects)),
                active_cells=col.l2.active_cells.num_active, bursting=bursting, predicted=predicted,
                grid_modules=_grid_modules(layer) if layer is not None else ()))
        learning = None if self.ready else self.learning_progress
        obj = self.objects[learning[0]] if learning else self.obj
        return RecognitionScene(
            points=dict(obj.points), bounds=self.objects.bounds(), num_features=self.objects.num_features,
            paths=tuple(tuple(p) for p in self.paths) if not learning else (), columns=tuple(columns),
            target=obj.label, recognized=self.recognized, status=self.status_lines(), sdr_size=net.l2_params.sdr_size,
            threshold=net.config["recognition_threshold"], learning=learning, playing=playing, footer=footer,
            interactive=interactive, novel=self.novel and not learning)

    def status_lines(self) -> tuple[str, ...]:
        """The text shown under the object."""
        n_obj = len(self.objects)
        lines = [f"library: {n_obj} objects, {self.objects.num_features} features, "
                 f"{self.config.grid_size}x{self.config.grid_size} grid",
                 f"columns: {self.num_columns}    motor policy: {self.policy_name}"]
        if not self.ready:
            done, total = self.learning_progress
            return (*lines, f"learning object {done + 1} of {total} with {self.num_columns} column(s)...")
        true = "a new object (never learned)" if self.novel else f"#{self.target}"
        lines.append(f"true object: {true}    sensation {self.sensation} of max {self.config.max_sensations}")
        if self.recognized is not None:
            verdict = "correct" if self.recognized == self.target else "WRONG"
            lines.append(f"network: recognized #{self.recognized} at sensation {self.recognized_at} ({verdict})")
        else:
            left = len(self.network_candidates())
            lines.append(f"network: {left} object{'s' if left != 1 else ''} still backed by every column"
                         + ((" - rejected as unknown" if self.novel else " - not recognized") if self.finished
                            else ""))
        if self.novel:
            lines.append("ideal observer: " + ("no learned object fits" if not self.ideal.candidates else
                                               f"{len(self.ideal.candidates)} candidate objects left"))
        elif self.ideal_at is not None:
            lines.append(f"ideal observer: recognized at sensation {self.ideal_at}")
        else:
            left = len(self.ideal.candidates)
            lines.append(f"ideal observer: {left} candidate object{'s' if left != 1 else ''} left")
        done = [s for s in self.summaries if s.num_columns == self.num_columns and not s.novel]
        if done:
            correct = sum(s.correct for s in done)
            net_mean = np.mean([s.sensation for s in done if s.correct and s.sensation is not None] or [np.nan])
            ideal_mean = np.mean([s.ideal_sensation for s in done if s.ideal_sensation is not None] or [np.nan])
            lines.append(f"so far with {self.num_columns} column(s): {correct} of {len(done)} episodes correct")
            lines.append(f"mean sensations to recognize: network {net_mean:.2f}, ideal observer {ideal_mean:.2f}")
        return tuple(lines)


# ---------------------------------------------------------------------------------------------------- app
class DemoApp(SteppingApp):
    """The interactive object-recognition demo: key handling, play timing and screenshots around a
    :class:`RecognitionDemo`.

    Keys: space = one sensation (next object when the episode is over), enter = play / pause, r = next object,
    1-5 = number of columns, p = switch motor policy, s = screenshot, q / escape = quit.

    Args:
        demo: the model.
        out_dir: where screenshots go.
        interval: seconds between sensations while playing (and the pause after an episode ends).
    """

    title = "htmagent demo - object recognition"
    screenshot_prefix = "htmagent_demo"

    def __init__(self, demo: RecognitionDemo, out_dir: str | os.PathLike = ".", interval: float = 0.7,
                 warm_up: bool = False):
        super().__init__(demo, out_dir, interval)
        self._warm_up: Optional[threading.Thread] = None
        self._warm_up_start = 0.0
        if warm_up:
            # On a cold numba cache the first learning step would compile for tens of seconds; compiling in a
            # thread keeps the window drawing and answering keys meanwhile.
            self._warm_up = threading.Thread(target=demo.warm_up, name="htmagent-demo-warm-up", daemon=True)
            self._warm_up_start = time.perf_counter()
            self._warm_up.start()

    @property
    def warming_up(self) -> bool:
        """The numba kernels are still being compiled (or loaded) in the background."""
        return self._warm_up is not None and self._warm_up.is_alive()

    def step(self) -> None:
        """One sensation, or the next object when the episode is over."""
        if self.demo.finished:
            self.demo.next_object()
        else:
            self.demo.sense()

    def handle_key(self, key: int) -> None:
        """r: next object; 1-5: number of columns; p: switch motor policy."""
        pygame = R.require_pygame()
        demo = self.demo
        if key == pygame.K_r:
            demo.next_object()
        elif pygame.K_1 <= key <= pygame.K_5:
            demo.set_columns(key - pygame.K_0)
        elif pygame.K_KP1 <= key <= pygame.K_KP5:
            demo.set_columns(key - pygame.K_KP1 + 1)
        elif key == pygame.K_p:
            demo.switch_policy()

    def update(self, now: float) -> bool:
        """A small piece of work between frames: learn one object, or one sensation when playing and due (``now``:
        ``time.perf_counter()``). Returns True if the frame changed."""
        demo = self.demo
        if self.warming_up:
            if now < self._due:
                return False
            self._due = now + 0.5  # redraw the elapsed time twice a second
            return True
        if not demo.ready:
            return demo.learn_step()
        if not self.playing or now < self._due:
            return False
        self._due = now + self.interval
        if demo.finished:
            demo.next_object()
            return True
        demo.sense()
        if demo.finished:
            self._due = now + 2.5 * self.interval  # let the viewer read the outcome
        return True

    def render(self, footer: str = "") -> Any:
        """The current frame (a pygame Surface of :data:`FRAME_SIZE`)."""
        if self.warming_up:
            footer = (f"preparing the numba kernels (compiled on the first run only): "
                      f"{time.perf_counter() - self._warm_up_start:.0f} s")
        elif not footer and not self.playing and self.demo.ready and self.demo.sensation == 0:
            footer = "press space for the first touch (enter: play)"
        return render_recognition(self.demo.scene(self.playing, footer))


# ---------------------------------------------------------------------------------------------------- headless
def run_headless(demo: RecognitionDemo, episodes: int, out_dir: str | os.PathLike, gif: bool = True,
                 log: Callable[[str], None] = print) -> list[Path]:
    """Play ``episodes`` episodes off-screen, writing one PNG per sensation (and an animated GIF with Pillow).

    Returns:
        The PNG frames written, in order.
    """
    pygame = R.require_pygame()
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an int >= 1, got {episodes!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    demo.learn_all()
    frames: list[Path] = []
    durations: list[int] = []

    def save() -> None:
        path = out / f"frame_{len(frames) + 1:04d}.png"
        pygame.image.save(render_recognition(demo.scene(interactive=False)), str(path))
        frames.append(path)
        durations.append(900)

    for e in range(episodes):
        if e:
            demo.next_object()
        while demo.sense():  # one frame per sensation (before the first touch there is nothing to show)
            save()
        durations[-1] = 2500
    if gif and write_gif(frames, out / "demo.gif", durations):
        log(f"wrote {len(frames)} frames and demo.gif to {out}")
    else:
        log(f"wrote {len(frames)} frames to {out}")
    log(format_summary(demo.summaries))
    return frames


def format_summary(summaries: Sequence[EpisodeSummary]) -> str:
    """A table of episodes: object, recognized, sensations of the network and of the ideal observer."""
    def show(value: Optional[int]) -> str:
        return "-" if value is None else str(value)

    lines = ["episode  columns  policy      object  recognized  network  ideal observer",
             "-------  -------  ----------  ------  ----------  -------  --------------"]
    for s in summaries:
        target = "new" if s.novel else str(s.target)
        lines.append(f"{s.episode:>7}  {s.num_columns:>7}  {s.policy:<10}  {target:>6}  {show(s.label):>10}  "
                     f"{show(s.sensation):>7}  {show(s.ideal_sensation):>14}")
    learned = [s for s in summaries if not s.novel]
    if learned:
        correct = sum(s.correct for s in learned)
        net = [s.sensation for s in learned if s.correct and s.sensation is not None]
        ideal = [s.ideal_sensation for s in learned if s.ideal_sensation is not None]
        mean_net = f"{np.mean(net):.2f}" if net else "never recognized"
        mean_ideal = f"{np.mean(ideal):.2f}" if ideal else "never sure"
        lines.append(f"recognized {correct}/{len(learned)} learned objects; mean sensations: network {mean_net}, "
                     f"ideal observer {mean_ideal}")
    novel = [s for s in summaries if s.novel]
    if novel:
        rejected = sum(s.correct for s in novel)
        lines.append(f"never-learned objects: {rejected}/{len(novel)} rejected (no object kept every column's "
                     f"backing), {len(novel) - rejected} mistaken for a learned one")
    return "\n".join(lines)
