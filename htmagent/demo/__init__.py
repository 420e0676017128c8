"""The demo room: the pygame apps and their drawing (``htmagent demo``).

- ``recognition``: cortical columns recognizing an object by touch (the main demo), as a window app or PNG frames.
- ``sequence``: a temporal memory learning a melody or a sine wave online.
- ``view``: the recognition frame's layout and drawing (plain scene data in, a pygame Surface out).
- ``app``: what every app shares: the window loop, off-screen detection, GIF writing.
- ``cli``: the ``htmagent demo`` command.

pygame is imported lazily (through :mod:`htmagent.envs.rendering`), so importing this room does not need a display.
"""
