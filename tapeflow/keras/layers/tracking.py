"""Bookkeeping shared by all layers: the call context and change tracking for cached walks.

``VERSION[0]`` increases whenever any layer's tree of sub-layers or variables may have changed
(an attribute holding a layer/variable/container is set, a tracked list or dict is mutated, a
layer is built, ``trainable`` is set). Layers cache their flattened weights and sub-layers
against it, so ``model.trainable_variables`` costs a list copy per training step, not a walk.
"""
from __future__ import annotations

VERSION = [0]
# ATTRIBUTES[0] increases whenever a public attribute of any layer is set (``layer.activation = ...``,
# ``layer.use_bias = False``): a traced training step recorded before that no longer stands for the
# layer's call (keras/traced_step.py keys its programs on it).
ATTRIBUTES = [0]
FIT_STATE = frozenset({"history", "stop_training"})  # public attributes fit sets each epoch: not call state


def bump() -> None:
    VERSION[0] += 1


class CallContext:
    """State of the layer calls in progress: nesting depth, inherited ``training``, and whether
    calls run only to infer shapes (then ``add_loss`` records nothing)."""

    __slots__ = ("depth", "training", "shape_inference")

    def __init__(self):
        self.depth = 0
        self.training = None
        self.shape_inference = False


CTX = CallContext()


class TrackedList(list):
    """A list stored on a layer: mutating it invalidates the layer's cached walks and adopts
    any new variable, as Keras's tracked lists do."""

    __slots__ = ("_owner",)

    def __init__(self, values=(), owner=None):
        super().__init__(values)
        self._owner = owner

    def _changed(self, new=()):
        bump()
        if self._owner is not None:
            for v in new:
                self._owner._adopt(v)

    def append(self, value):
        super().append(value)
        self._changed((value,))

    def extend(self, values):
        values = list(values)
        super().extend(values)
        self._changed(values)

    def insert(self, index, value):
        super().insert(index, value)
        self._changed((value,))

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._changed(value if isinstance(key, slice) else (value,))

    def __iadd__(self, values):
        values = list(values)
        super().__iadd__(values)
        self._changed(values)
        return self

    def __delitem__(self, key):
        super().__delitem__(key)
        bump()

    def pop(self, index=-1):
        out = super().pop(index)
        bump()
        return out

    def remove(self, value):
        super().remove(value)
        bump()

    def clear(self):
        super().clear()
        bump()

    def __reduce__(self):
        return (list, (list(self),))


class TrackedDict(dict):
    """A dict stored on a layer (see ``TrackedList``)."""

    __slots__ = ("_owner",)

    def __init__(self, values=(), owner=None):
        super().__init__(values)
        self._owner = owner

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        bump()
        if self._owner is not None:
            self._owner._adopt(value)

    def __delitem__(self, key):
        super().__delitem__(key)
        bump()

    def update(self, *args, **kwargs):
        other = dict(*args, **kwargs)
        for k, v in other.items():
            self[k] = v

    def pop(self, key, *default):
        out = super().pop(key, *default)
        bump()
        return out

    def clear(self):
        super().clear()
        bump()

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def __reduce__(self):
        return (dict, (dict(self),))
