"""``keras.utils.Config`` (a dict with attribute access that can be frozen) and Keras's interactive-logging
switch (``disable_interactive_logging`` sends fit's progress lines to the ``logging`` module instead of
drawing a progress bar on stdout).

>>> from tapeflow.keras.utils import Config
>>> c = Config(learning_rate=0.1)
>>> c.seed = 1
>>> c.freeze()
>>> c.to_json(), c["seed"]
('{"learning_rate": 0.1, "seed": 1}', 1)
"""
from __future__ import annotations

import json
import logging
import sys


class Config:
    """Named values reachable as ``c.name`` and ``c["name"]``; ``freeze()`` makes every change raise."""

    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        object.__setattr__(self, "_frozen", False)

    def _raise_if_frozen(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def __getattr__(self, name):
        try:
            return self.__dict__["_config"][name]
        except KeyError:
            raise AttributeError(f"Unknown attribute: '{name}'.") from None

    def __setattr__(self, name, value):
        self._raise_if_frozen()
        self._config[name] = value

    def __getitem__(self, key):
        return self._config[key]

    def __setitem__(self, key, value):
        self._raise_if_frozen()
        self._config[key] = value

    def __delitem__(self, key):
        self._raise_if_frozen()
        del self._config[key]

    def __contains__(self, key) -> bool:
        return key in self._config

    def __len__(self) -> int:
        return len(self._config)

    def __iter__(self):
        return iter(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"

    def get(self, key, default=None):
        return self._config.get(key, default)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def pop(self, *args):
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._raise_if_frozen()
        self._config.update(*args, **kwargs)

    def as_dict(self) -> dict:
        return dict(self._config)

    def to_json(self) -> str:
        return json.dumps(self._config)


_interactive = [True]


def enable_interactive_logging() -> None:
    """Progress bars and messages go to stdout (the default)."""
    _interactive[0] = True


def disable_interactive_logging() -> None:
    """Progress lines go to ``logging.getLogger("tapeflow")`` at INFO, one per epoch; no bar is drawn."""
    _interactive[0] = False


def is_interactive_logging_enabled() -> bool:
    return _interactive[0]


def print_msg(message: str, line_break: bool = True) -> None:
    """Write ``message`` to stdout, or to the ``tapeflow`` logger when interactive logging is off."""
    if _interactive[0]:
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        logging.getLogger("tapeflow").info(message)
