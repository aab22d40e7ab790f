"""``Config``: Keras's dict-like container of named values (``keras.utils.Config``).

Entries are read and written as attributes or items (``config.seed = 1``,
``config["seed"]``); ``freeze()`` makes every later change raise ``ValueError``;
``as_dict()`` copies the entries and ``to_json()`` serializes them. Iteration yields the
keys in sorted order, as Keras's does.
"""

from __future__ import annotations

import copy
import difflib
import json
from typing import Any, Iterator


class Config:
    """A dict-like container for named values, with attribute access and freezing.

    Example:

    >>> config = Config(learning_rate=0.1)
    >>> config.seed = 123
    >>> config["learning_rate"], config.seed, sorted(config)
    (0.1, 123, ['learning_rate', 'seed'])
    """

    __attrs__: set[str] | None = None

    def __init__(self, **kwargs: Any) -> None:
        self._config = kwargs
        self._frozen = False
        self.__attrs__ = set(dir(self))

    @property
    def frozen(self) -> bool:
        """True once :meth:`freeze` was called (and :meth:`unfreeze` was not)."""
        return self._frozen

    def freeze(self) -> None:
        """Refuse every later change (``ValueError``)."""
        self._frozen = True

    def unfreeze(self) -> None:
        self._frozen = False

    def _raise_if_frozen(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self) -> dict[str, Any]:
        return copy.copy(self._config)

    def to_json(self) -> str:
        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def pop(self, *args: Any) -> Any:
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._raise_if_frozen()
        self._config.update(*args, **kwargs)

    def get(self, keyname: str, value: Any = None) -> Any:
        return self._config.get(keyname, value)

    def __setattr__(self, name: str, value: Any) -> None:
        attrs = object.__getattribute__(self, "__attrs__")
        if attrs is None or name in attrs:
            object.__setattr__(self, name, value)
            return
        self._raise_if_frozen()
        self._config[name] = value

    def __getattr__(self, name: str) -> Any:
        attrs = object.__getattribute__(self, "__attrs__")
        if attrs is None or name in attrs:
            return object.__getattribute__(self, name)
        config = object.__getattribute__(self, "_config")
        if name in config:
            return config[name]
        msg = f"Unknown attribute: '{name}'."
        close = difflib.get_close_matches(name, config.keys(), n=1, cutoff=0.7)
        if close:
            msg += f" Did you mean '{close[0]}'?"
        raise AttributeError(msg)

    def __setitem__(self, key: str, item: Any) -> None:
        self._raise_if_frozen()
        self._config[key] = item

    def __getitem__(self, key: str) -> Any:
        return self._config[key]

    def __delitem__(self, key: str) -> None:
        self._raise_if_frozen()
        del self._config[key]

    def __contains__(self, item: Any) -> bool:
        return item in self._config

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._config))

    def __len__(self) -> int:
        return len(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"
