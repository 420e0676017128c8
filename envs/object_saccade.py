"""``htmagent/ObjectSaccade-v0``: small sensor patches saccade over a glyph image; the agent must name the glyph."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from gymnasium import spaces

from htmagent._validation import check_int
from htmagent.cortex.objects import ObjectSet
from htmagent.envs import rendering
from htmagent.envs.object_touch import SensorGridEnv
from htmagent.envs.shapes import GlyphLibrary

__all__ = ["ObjectSaccadeEnv"]


class ObjectSaccadeEnv(SensorGridEnv):
    """Sensor patches saccade over a procedurally drawn glyph; the agent must say which glyph of the library it is.

    ## Description

    The same game as :class:`~htmagent.envs.ObjectTouchEnv`, on images: each object is a ``image_size`` x
    ``image_size`` grey-level glyph drawn with a few strokes (lines, corners, arcs) on a shared lattice
    (:class:`~htmagent.envs.shapes.GlyphLibrary`), so different glyphs share local parts and one patch is rarely
    enough. Each of ``num_sensors`` sensors sees a small ``patch_size`` x ``patch_size`` patch of pixels and moves by
    saccades between fixation points. This is the task on which htmagent is compared with Monty.

    ## Action Space

    ``MultiDiscrete([2J + 1] * (2 * num_sensors) + [num_objects + 1])``, exactly as in ObjectTouch-v0: per sensor a
    jump ``(dx, dy) = (action[2s] - J, action[2s + 1] - J)`` on the fixation grid, then a declaration (``0`` = none,
    ``k + 1`` = "this is object ``k``"). The fixation grid has ``n = image_size // fixation_spacing`` points per
    axis, centred in cells of ``fixation_spacing`` pixels (the default 32 / 4 gives 8 x 8 fixations 4 pixels apart,
    so 7-pixel patches of neighbouring fixations overlap). ``fixation_spacing=1`` gives pixel-precise moves.
    ``J = max_jump`` defaults to ``n - 1`` so any fixation is reachable in one saccade.

    ## Observation Space

    | Key              | Space                                                 | Meaning                       |
    |------------------|-------------------------------------------------------|-------------------------------|
    | ``patch``        | ``Box(0, 255, (num_sensors, patch, patch), uint8)``   | pixels under each sensor,     |
    |                  |                                                       | zero beyond the image border  |
    | ``displacement`` | ``Box(-(n - 1), n - 1, (num_sensors, 2), float32)``   | each sensor's last move in    |
    |                  |                                                       | fixation steps (times         |
    |                  |                                                       | ``fixation_spacing`` = pixels)|
    | ``step``         | ``Box(0, 2**24, (1,), float32)``                      | steps taken (if               |
    |                  |                                                       | ``observe_step``)             |

    ``env.unwrapped.object_set`` describes the library as features at locations (fixation cells with ink; feature
    ``k`` = the ``k``-th distinct patch of the library) and ``env.unwrapped.feature_id(patch)`` maps an observed
    patch to its feature, so the baselines of :mod:`htmagent.cortex.baselines` play this game too.

    Stable-Baselines3 takes any 3-D uint8 ``Box`` in ``[0, 255]`` for an image and builds its ``NatureCNN``, whose
    8 x 8 kernel does not fit a 7 x 7 patch: wrap the environment with ``gymnasium.wrappers.FlattenObservation``
    and use ``"MlpPolicy"`` (or supply a features extractor).

    ## Rewards

    ``+1`` for a correct declaration, ``-1`` for a wrong one, ``-move_cost`` on every step without a declaration.

    ## Starting State

    The glyph is drawn uniformly from the library (or ``options["label"]``); each sensor starts at a random fixation
    whose patch contains ink, distinct fixations while there are enough.

    ## Episode End

    Terminated on a declaration; truncated after ``max_episode_steps`` (100 for the registered id). Saccades stop
    at the edge of the fixation grid; the observed displacement is the move actually made.

    ## Learn mode

    As in ObjectTouch-v0: ``reset(options={"learn": True})`` puts ``"label"`` and ``"sensor_positions"``
    (``(num_sensors, 2)`` fixation indices; pixel centre = ``index * fixation_spacing + fixation_spacing // 2``) in
    ``info`` for the whole episode; ``options={"label": k}`` picks the glyph.

    ## Arguments

    - ``glyphs``: a :class:`~htmagent.envs.shapes.GlyphLibrary` or a ``(num_objects, size, size)`` uint8 array of
      images; default: ``GlyphLibrary.generate(num_objects, image_size, seed=library_seed)``.
    - ``num_objects`` (20), ``image_size`` (32), ``library_seed`` (0): the default library.
    - ``patch_size`` (7, odd): sensor patch side in pixels.
    - ``fixation_spacing`` (4): pixels between fixation points.
    - ``num_sensors`` (1), ``max_jump`` (``n - 1``), ``move_cost`` (0.01), ``observe_step`` (False),
      ``render_mode``: as in ObjectTouch-v0.

    ## Version History

    - v0: initial version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 4}
    _sensation_key = "patch"

    def __init__(
        self,
        glyphs: GlyphLibrary | np.ndarray | None = None,
        num_objects: int = 20,
        image_size: int = 32,
        library_seed: int = 0,
        patch_size: int = 7,
        fixation_spacing: int = 4,
        num_sensors: int = 1,
        max_jump: Optional[int] = None,
        move_cost: float = 0.01,
        observe_step: bool = False,
        render_mode: Optional[str] = None,
    ):
        library_seed = check_int(library_seed, "library_seed", 0)
        num_objects = check_int(num_objects, "num_objects", 1)
        if glyphs is None:
            glyphs = GlyphLibrary.generate(num_objects, check_int(image_size, "image_size", 8), seed=library_seed)
        self.names = list(glyphs.names) if isinstance(glyphs, GlyphLibrary) else []
        images = glyphs.images if isinstance(glyphs, GlyphLibrary) else np.asarray(glyphs)
        if images.ndim != 3 or images.shape[1] != images.shape[2] or images.shape[0] < 1:
            raise ValueError(f"glyphs must be images of shape (num_objects, size, size), got shape {images.shape}")
        if images.dtype != np.uint8:
            raise TypeError(f"glyphs must be uint8 images, got dtype {images.dtype}")
        if not self.names:
            self.names = [f"glyph {i}" for i in range(images.shape[0])]
        self.images = images
        size = images.shape[1]
        patch_size = check_int(patch_size, "patch_size", 1)
        if patch_size % 2 == 0 or patch_size > size:
            raise ValueError(f"patch_size must be odd and <= the image size ({size}), got {patch_size}")
        self.patch_size = patch_size
        self.fixation_spacing = check_int(fixation_spacing, "fixation_spacing", 1)
        n = size // self.fixation_spacing
        if n < 1:
            raise ValueError(f"fixation_spacing must be <= the image size ({size}), got {fixation_spacing}")
        self.fixations = np.arange(n) * self.fixation_spacing + self.fixation_spacing // 2
        # Every patch of every glyph at every fixation, cut once: stepping is then one fancy-indexing lookup.
        half = patch_size // 2
        padded = np.pad(images, ((0, 0), (half, half), (half, half)))
        rows = self.fixations[:, None] + np.arange(patch_size)[None, :]
        self._patches = np.ascontiguousarray(
            padded[:, rows[:, None, :, None], rows[None, :, None, :]]  # (objects, fy, fx, patch, patch)
        )
        self.object_set, self._patch_ids = self._patch_objects()
        self._sensation_space = spaces.Box(
            0, 255, shape=(check_int(num_sensors, "num_sensors", 1), patch_size, patch_size), dtype=np.uint8
        )
        self._setup_game(images.shape[0], (0, 0, n - 1, n - 1), num_sensors, max_jump, move_cost, observe_step,
                         render_mode)

    def _patch_objects(self) -> tuple[ObjectSet, dict[bytes, int]]:
        """Describe the library as features at locations: feature ``k`` is the ``k``-th distinct inked patch."""
        count, n = self._patches.shape[:2]
        flat = self._patches.reshape(count * n * n, -1)
        inked = flat.max(axis=1) > 0
        distinct, codes = np.unique(flat[inked], axis=0, return_inverse=True)
        features = np.full(count * n * n, -1, dtype=np.int64)
        features[inked] = codes.reshape(-1)
        features = features.reshape(count, n, n)  # (object, fy, fx)
        dicts = [
            {(int(fx), int(fy)): int(features[label, fy, fx]) for fy, fx in np.argwhere(features[label] >= 0)}
            for label in range(count)
        ]
        ids = {row.tobytes(): index for index, row in enumerate(distinct)}
        return ObjectSet.from_dicts(dicts, num_features=len(distinct), names=self.names), ids

    def _sense(self, label: int, positions: np.ndarray) -> np.ndarray:
        return self._patches[label, positions[:, 1], positions[:, 0]]

    def feature_id(self, patch: np.ndarray) -> Optional[int]:
        """The id of a sensor patch in :attr:`object_set` (``None`` for a blank patch).

        ``object_set`` describes the library as the touch environment's objects are described: locations are fixation
        cells ``(fx, fy)`` whose patch has ink, and feature ``k`` is the ``k``-th distinct patch over the whole
        library, so an :class:`~htmagent.cortex.baselines.IdealObserver` can play this environment too.

        Raises:
            ValueError: if ``patch`` has the wrong shape or is not a patch of this library.
        """
        patch = np.asarray(patch)
        if patch.shape != (self.patch_size, self.patch_size):
            raise ValueError(f"patch must have shape ({self.patch_size}, {self.patch_size}), got {patch.shape}")
        if patch.max() == 0:
            return None
        feature = self._patch_ids.get(patch.astype(np.uint8).tobytes())
        if feature is None:
            raise ValueError("patch is not a patch of this environment's library")
        return feature

    def _start_cells(self, label: int) -> np.ndarray:
        inked = np.argwhere(self._patches[label].max(axis=(2, 3)) > 0)  # (fy, fx) pairs
        return inked[:, ::-1].astype(np.int64)

    def _render_surface(self) -> Any:
        def centre(cell: tuple[int, int]) -> tuple[float, float]:
            return self.fixations[cell[0]] + 0.5, self.fixations[cell[1]] + 0.5

        scene = rendering.SaccadeScene(
            image=self.images[self._label],
            fixations=self.fixations + 0.5,
            patch_size=self.patch_size,
            paths=[[centre(cell) for cell in path] for path in self._paths],
            patches=list(self._sense(self._label, self._positions)),
            title="ObjectSaccade-v0",
            lines=[f"{self.names[self._label]} ({self.num_objects} in library)", *self._status_lines()[1:]],
        )
        return rendering.render_saccade(scene)
