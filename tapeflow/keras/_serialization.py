"""Keras-3-style object (de)serialization from a registry of known names.

A config is ``{"module", "class_name", "config", "registered_name"}``. Deserializing looks the
class up in ``custom_objects``, then in the objects registered with
``register_keras_serializable``, then in the caller's table of built-in names; it never imports
a module path named in a config.
"""
from __future__ import annotations

import difflib
import inspect

_GLOBAL_CUSTOM_OBJECTS: dict[str, object] = {}
_GLOBAL_CUSTOM_NAMES: dict[object, str] = {}


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Decorator registering a class or function under ``"package>name"`` for deserialization.

    >>> @register_keras_serializable(package="demo")
    ... def double(x):
    ...     return x * 2
    >>> get_registered_name(double)
    'demo>double'
    """
    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: class {obj.__name__} must define get_config()")
        _GLOBAL_CUSTOM_OBJECTS[key] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = key
        return obj
    return decorator


def get_registered_name(obj) -> str:
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def get_registered_object(name: str, custom_objects=None, module_objects=None):
    """The object registered as ``name``: the active ``custom_object_scope`` first, then ``custom_objects``,
    the global registry and ``module_objects``; None when no table has it."""
    for table in (_SCOPE[0], custom_objects, _GLOBAL_CUSTOM_OBJECTS, module_objects):
        if table and name in table:
            return table[name]
    return None


class CustomObjectScope:
    """``with custom_object_scope({"name": obj}):`` makes ``obj`` findable by name while deserializing (an inner
    scope replaces the outer one until it exits, as in Keras).

    >>> def my_fn(x):
    ...     return x
    >>> with custom_object_scope({"my_fn": my_fn}):
    ...     get_registered_object("my_fn") is my_fn
    True
    >>> get_registered_object("my_fn") is None
    True
    """

    def __init__(self, custom_objects=None):
        self.custom_objects = dict(custom_objects or {})
        self.backup = None

    def __enter__(self):
        self.backup, _SCOPE[0] = _SCOPE[0], dict(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _SCOPE[0] = self.backup


custom_object_scope = CustomObjectScope
_SCOPE: list[dict] = [{}]


def get_custom_objects() -> dict:
    """The global registry dict (``keras.saving.get_custom_objects()``); users may add to it."""
    return _GLOBAL_CUSTOM_OBJECTS


def serialize_keras_object(obj, module: str = "keras") -> dict | None:
    """``{"module", "class_name", "config", "registered_name"}`` for an object with ``get_config``."""
    if obj is None:
        return None
    if isinstance(obj, (str, int, float, bool)):
        return obj
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize {obj!r}: it has no get_config() method")
    cls = type(obj)
    registered = _GLOBAL_CUSTOM_NAMES.get(cls)
    return {"module": module, "class_name": cls.__name__, "config": obj.get_config(),
            "registered_name": registered}


def _lookup_error(kind: str, name: str, known) -> ValueError:
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return ValueError(
        f"Unknown {kind}: {name!r}.{hint} If it is a custom class or function, pass it in "
        f"custom_objects={{{name!r}: ...}} or decorate it with @keras.saving.register_keras_serializable().")


def deserialize_keras_object(config, module_objects: dict, custom_objects=None, kind: str = "object"):
    """Rebuild an object from a name or a config dict, using only registered/known classes."""
    if config is None:
        return None
    if isinstance(config, str):
        obj = get_registered_object(config, custom_objects, module_objects)
        if obj is None:
            raise _lookup_error(kind, config, module_objects)
        return obj() if isinstance(obj, type) else obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Cannot deserialize {kind} from {config!r}: expected a name or a dict with 'class_name'")
    name = config.get("registered_name") or config["class_name"]
    cls = get_registered_object(name, custom_objects, module_objects)
    if cls is None:
        cls = get_registered_object(config["class_name"], custom_objects, module_objects)
    if cls is None:
        raise _lookup_error(kind, config["class_name"], module_objects)
    inner = config.get("config", {})
    if not isinstance(cls, type):
        return cls  # a registered function
    from_config = getattr(cls, "from_config", None)
    if from_config is None:
        return cls(**inner)
    if "custom_objects" in inspect.signature(from_config).parameters:
        return from_config(inner, custom_objects=custom_objects)
    return from_config(inner)
