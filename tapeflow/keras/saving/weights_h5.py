"""``.weights.h5`` in Keras 3's layout (also the ``model.weights.h5`` inside a ``.keras`` zip).

Keras 3 stores each object that owns variables under the path at which it is reached from the model,
in a group ``<path>/vars`` (attribute ``name`` = the object's name) holding datasets ``"0"``, ``"1"``...
in the object's own variable order. Paths: the model's own variables at ``vars``; the layers of a
Sequential or functional model under ``layers/<snake_case class name>[_<n>]`` (e.g. ``layers/dense``,
``layers/dense_1``: names come from classes, not from layer names); a subclassed model's sub-layers under
their attribute names (``hidden``), lists under the attribute then class names; the optimizer under
``optimizer``. Attributes are visited in sorted order (private ones last) and each object is stored
once, at the first path that reaches it.

>>> import os, tempfile, numpy as np, tapeflow as tf
>>> m = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
>>> p = os.path.join(tempfile.mkdtemp(), "m.weights.h5")
>>> m.save_weights(p)
>>> [path for path, _ in walk_saveables(m)]
['', 'layers/dense']
"""
from __future__ import annotations

import inspect
import re
import warnings

import numpy as np

from .safety import ModelFileError, atomic_write, open_h5, read_dataset

# Internal Layer/Model attributes that Keras's walk skips (its skip-set is the attributes of a bare Layer).
_SKIP_ATTRS = frozenset({
    "_seq_layers", "_self_graph", "_inputs_struct", "_outputs_struct", "_trainable_variables",
    "_non_trainable_variables", "_losses", "_inbound_nodes", "_outbound_nodes", "_cache", "_auto_config",
    "_call_sig", "input_spec", "_build_input_shape", "_batch_input_shape", "_initial_weights", "history",
    "compiled_loss", "compiled_metrics", "_loss_tracker", "_per_output_trackers", "loss"})

# Optimizer slot lists that tapeflow creates one after the other but Keras 3 creates interleaved per
# variable (``add_optimizer_variables(vars, ["momentum", "velocity"])``): files use Keras's order.
_INTERLEAVED_SLOTS = {
    "Adam": ("_momentums", "_velocities"), "AdamW": ("_momentums", "_velocities"),
    "Nadam": ("_momentums", "_velocities"), "Adadelta": ("_accumulated_grads", "_accumulated_delta_vars")}


def _snake(name: str, legacy: bool = False) -> str:
    """Keras 3's ``to_snake_case`` (``Conv2D`` -> ``conv2d``). ``legacy``: the rule tapeflow wrote before session 5
    (``conv2_d``), still read so that those files load."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z0-9])([A-Z])" if legacy else r"([a-z])([A-Z])", r"\1_\2", s).lower()


def _name_key(name: str) -> str:
    return f"~{name}" if name.startswith("_") else name


def _is_layer(obj) -> bool:
    return getattr(type(obj), "_is_layer", False)


def _is_optimizer(obj) -> bool:
    from ..optimizers.base import Optimizer
    return isinstance(obj, Optimizer)


def _is_saveable(obj) -> bool:
    return _is_layer(obj) or _is_optimizer(obj)


def _children(obj):
    """(attribute name, value) pairs Keras 3 would walk from ``obj``, in its order."""
    if _is_optimizer(obj):  # a MultiOptimizer's sub-optimizers: ``optimizer/optimizers/<class>``
        children = getattr(obj, "_saveable_children", None)
        return children() if children is not None else []
    out = []
    is_graph = obj.__dict__.get("_self_graph") is not None or type(obj).__name__ == "Sequential" or \
        "_seq_layers" in obj.__dict__
    from ..models.model import Model
    if is_graph:
        out.append(("layers", obj.layers))
    items = []
    for k, v in obj.__dict__.items():
        if k in _SKIP_ATTRS or k.startswith("__") or k.startswith(("_trainer", "_compile", "_self_")):
            continue
        if _is_saveable(v) or isinstance(v, (list, tuple, dict)):
            items.append((k, v))
    if isinstance(obj, Model) and not is_graph:
        items.append(("layers", obj.layers))
    items.extend(_public_properties(obj))
    items.sort(key=lambda kv: _name_key(kv[0]))
    return out + items


def _public_properties(obj) -> list:
    """Public properties of the layer's own classes (below Layer/Model) that return a sub-layer: Keras walks
    ``dir(obj)``, public names first, so ``MultiHeadAttention.key_dense`` names what ``_key_dense`` holds."""
    from ..layers.base import Layer
    from ..models.model import Model
    out, names = [], set()
    for cls in type(obj).__mro__:
        if cls in (Layer, Model) or cls is object:
            break
        names.update(n for n, a in vars(cls).items() if isinstance(a, property) and not n.startswith("_"))
    for name in sorted(names):
        if isinstance(inspect.getattr_static(type(obj), name), property):  # (a subclass may hide it)
            try:
                value = getattr(obj, name)
            except Exception:  # noqa: BLE001 (a property that cannot answer now holds nothing to save)
                continue
            if _is_saveable(value):
                out.append((name, value))
    return out


def walk_saveables(model, legacy: bool = False):
    """Yield ``(path, obj)`` for every layer/optimizer in Keras 3's order, each object once (``legacy``: container
    keys as tapeflow named them before session 5)."""
    seen = set()

    def visit(obj, path):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        yield path, obj
        for attr, child in _children(obj):
            sub = f"{path}/{attr}" if path else attr
            if _is_saveable(child):
                yield from visit(child, sub)
            else:
                yield from container(child, sub, set())

    def container(items, path, seen_containers):
        if id(items) in seen_containers:
            return
        seen_containers.add(id(items))
        used = {}
        values = list(items.values()) if isinstance(items, dict) else list(items)
        for v in values:
            if _is_saveable(v):
                name = _unique(_snake(type(v).__name__, legacy), used)
                yield from visit(v, f"{path}/{name}")
            elif isinstance(v, (list, tuple, dict)):
                yield from container(v, f"{path}/{_unique('container', used)}", seen_containers)

    yield from visit(model, "")


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def own_variables(obj) -> list:
    """The variables an object stores itself (not its sub-layers'), in Keras order."""
    if _is_optimizer(obj):
        return optimizer_variables_keras_order(obj)
    saved = getattr(type(obj), "_saved_variables", None)  # a quantized layer: Keras's save_own_variables order
    if saved is not None:
        ordered = saved(obj)
        if ordered is not None:
            return ordered
    return list(obj.__dict__.get("_trainable_variables", [])) + list(obj.__dict__.get("_non_trainable_variables", []))


def optimizer_variables_keras_order(opt) -> list:
    variables = list(opt.variables)
    groups = _INTERLEAVED_SLOTS.get(type(opt).__name__)
    if not groups or not all(isinstance(getattr(opt, g, None), list) for g in groups):
        return variables
    lists = [getattr(opt, g) for g in groups]
    if len({len(x) for x in lists}) != 1 or not lists[0]:
        return variables
    members = {id(v) for lst in lists for v in lst}
    out, emitted = [], False
    for v in variables:
        if id(v) in members:
            if not emitted:
                for i in range(len(lists[0])):
                    out.extend(lst[i] for lst in lists)
                emitted = True
        else:
            out.append(v)
    return out if len(out) == len(variables) else variables


# -- writing -----------------------------------------------------------------------------------
def write_weights_group(root, model, include_optimizer: bool = True) -> None:
    """Write every object's variables into an open, writable h5py File/Group ``root``."""
    for path, obj in walk_saveables(model):
        if _is_optimizer(obj) and (not include_optimizer or not obj.built):
            continue
        g = root.create_group(f"{path}/vars" if path else "vars")
        g.attrs["name"] = str(getattr(obj, "name", ""))
        for i, v in enumerate(own_variables(obj)):
            g.create_dataset(str(i), data=np.asarray(v.numpy()))


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Write ``model``'s weights (and its optimizer's state) to ``filepath`` (``*.weights.h5``) atomically."""
    import h5py
    filepath = str(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(f"save_weights: the filename must end in `.weights.h5`, got {filepath!r}")
    if not model.built:
        raise ValueError(f"save_weights: model '{model.name}' is not built yet; call it on data or build() it first")
    with atomic_write(filepath, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            write_weights_group(f, model)


# -- reading -----------------------------------------------------------------------------------
def _assign(var, arr):
    var._value[...] = arr


def load_weights_group(root, model, path, skip_mismatch: bool = False, strict_optimizer: bool = False) -> None:
    """Load a checked h5 File/Group in Keras 3 layout into ``model``. Shapes are compared for every
    object before any variable is changed, so a mismatch leaves the model untouched."""
    if not model.built:
        raise ValueError(f"load_weights: model '{model.name}' is not built yet; build it (or call it on data) "
                         f"before loading {path}")
    plan = []
    opt_plan = None
    saveables = list(walk_saveables(model))
    if any(own_variables(o) and (f"{p}/vars" if p else "vars") not in root for p, o in saveables):
        legacy = list(walk_saveables(model, legacy=True))         # a file tapeflow wrote before session 5
        if all(not own_variables(o) or (f"{p}/vars" if p else "vars") in root for p, o in legacy):
            saveables = legacy
    for p, obj in saveables:
        gname = f"{p}/vars" if p else "vars"
        if _is_optimizer(obj):
            if gname in root and opt_plan is None:  # the model's optimizer (its state includes any sub-optimizers')
                opt_plan = (obj, root[gname], gname)
            continue
        variables = own_variables(obj)
        if gname not in root:
            if variables:
                msg = (f"has no weights for layer '{obj.name}' (expected group '/{gname}' with {len(variables)} "
                       "arrays); the file was saved from a different architecture")
                if skip_mismatch:
                    warnings.warn(f"{path}: {msg}; skipped", stacklevel=3)
                    continue
                raise ModelFileError(path, msg)
            continue
        g = root[gname]
        keys = sorted((k for k in g.keys()), key=lambda k: (len(k), k))
        if len(keys) != len(variables) or keys != [str(i) for i in range(len(keys))]:
            msg = (f"layer '{obj.name}' (group '/{gname}') holds {len(keys)} arrays {keys[:6]} but the model's "
                   f"layer has {len(variables)} variables")
            if skip_mismatch:
                warnings.warn(f"{path}: {msg}; skipped", stacklevel=3)
                continue
            raise ModelFileError(path, msg)
        try:
            arrays = [read_dataset(g[str(i)], path, f"{gname}/{i} ({v.path if hasattr(v, 'path') else v.name})",
                                   tuple(v.shape), v._value.dtype) for i, v in enumerate(variables)]
        except ModelFileError:
            if skip_mismatch:
                warnings.warn(f"{path}: shape mismatch in layer '{obj.name}'; skipped", stacklevel=3)
                continue
            raise
        plan.append((variables, arrays))
    opt_arrays = None
    if opt_plan is not None:
        opt_arrays = _plan_optimizer(model, *opt_plan, path=path, strict=strict_optimizer)
    for variables, arrays in plan:
        for v, a in zip(variables, arrays):
            _assign(v, a)
    if opt_arrays is not None:
        for v, a in opt_arrays:
            _assign(v, a)


def _plan_optimizer(model, opt, g, gname, path, strict):
    if not opt.built:
        opt.build(model.trainable_variables)
    keras_order = optimizer_variables_keras_order(opt)
    keys = list(g.keys())
    if len(keys) != len(keras_order) or sorted(keys) != sorted(str(i) for i in range(len(keys))):
        msg = (f"optimizer state '/{gname}' holds {len(keys)} arrays but optimizer '{opt.name}' has "
               f"{len(keras_order)} variables (a different optimizer or model?)")
        if strict:
            raise ModelFileError(path, msg)
        warnings.warn(f"{path}: {msg}; the optimizer state was not loaded", stacklevel=4)
        return None
    shapes = [tuple(g[str(i)].shape) for i in range(len(keys))]
    for order in (keras_order, list(opt.variables)):
        if all(tuple(v.shape) == s for v, s in zip(order, shapes)):
            return [(v, read_dataset(g[str(i)], path, f"{gname}/{i}", tuple(v.shape), v._value.dtype))
                    for i, v in enumerate(order)]
    msg = f"optimizer state '/{gname}' has shapes {shapes[:6]}... that do not match optimizer '{opt.name}'"
    if strict:
        raise ModelFileError(path, msg)
    warnings.warn(f"{path}: {msg}; the optimizer state was not loaded", stacklevel=4)
    return None


def load_weights(model, filepath, skip_mismatch: bool = False) -> None:
    """Load a ``.weights.h5`` file (Keras 3 layout, written by tapeflow or by Keras) into ``model``."""
    filepath = str(filepath)
    with open_h5(filepath) as f:
        if "vars" not in f and "layers" not in f and not any(k for k in f.keys()):
            raise ModelFileError(filepath, "holds no weights (empty HDF5 file)")
        if "model_weights" in f or "layer_names" in f.attrs:
            from .hdf5 import load_legacy_weights
            load_legacy_weights(model, f, filepath, skip_mismatch=skip_mismatch)
            return
        load_weights_group(f, model, filepath, skip_mismatch=skip_mismatch)


__all__ = ["save_weights", "load_weights", "walk_saveables", "write_weights_group", "load_weights_group"]
