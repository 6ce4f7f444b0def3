"""Whole-model ``.h5`` files in the legacy Keras layout (what ``model.save("x.h5")`` writes in Keras 3).

Layout: root attributes ``model_config`` (JSON ``{"class_name", "config"}``), ``training_config`` (JSON:
loss, metrics, ``optimizer_config``), ``keras_version``, ``backend``; group ``model_weights`` with
attribute ``layer_names`` and, per layer, a group with attribute ``weight_names`` whose datasets sit at
those names; group ``optimizer_weights`` likewise. Weights are matched to layers in order (layers that own
weights), as Keras does, after every shape has been checked. Also reads Keras 2 weights-only ``.h5``
files (``layer_names`` on the root).

>>> import os, tempfile, numpy as np, tapeflow as tf
>>> m = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
>>> m.compile(optimizer="adam", loss="mse")
>>> p = os.path.join(tempfile.mkdtemp(), "m.h5")
>>> m.save(p)
>>> tf.keras.models.load_model(p).optimizer.name
'adam'
"""
from __future__ import annotations

import json
import warnings

import numpy as np

from .keras_zip import KERAS_VERSION, _json_default, build_model, compile_from_config, model_config
from .safety import ModelFileError, atomic_write, h5_name_list_attr, h5_text_attr, open_h5, parse_json, read_dataset


def _weight_layers(model) -> list:
    return list(model.layers)


def _legacy_entries(v):
    """Loss/metric entries as Keras writes them in a legacy .h5 training_config: ``{"class_name", "config"}``,
    without the ``module``/``registered_name`` keys of the .keras format."""
    if isinstance(v, dict):
        if "class_name" in v and "config" in v:
            return {"class_name": v["class_name"], "config": v["config"]}
        return {k: _legacy_entries(e) for k, e in v.items()}
    if isinstance(v, list):
        return [_legacy_entries(e) for e in v]
    return v


def save_model(model, filepath, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Write ``model`` (config, weights, compile config, optimizer state) to a legacy ``.h5`` atomically."""
    import h5py

    from .weights_h5 import optimizer_variables_keras_order
    cfg = model_config(model, include_compile=False)
    legacy_cfg = {"class_name": cfg["class_name"], "config": cfg["config"]}
    with atomic_write(filepath, overwrite=overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["backend"] = "numpy"
            f.attrs["keras_version"] = KERAS_VERSION
            f.attrs["model_config"] = json.dumps(legacy_cfg, default=_json_default)
            f.attrs["tapeflow_format"] = 2  # Keras 3's node numbering (models/functional.py)
            mw = f.create_group("model_weights")
            layers = _weight_layers(model)
            mw.attrs["layer_names"] = [layer.name.encode("utf8") for layer in layers]
            mw.attrs["backend"] = "numpy"
            mw.attrs["keras_version"] = KERAS_VERSION
            for layer in layers:
                g = mw.create_group(layer.name)
                names = [_weight_name(layer, v) for v in layer.weights]
                g.attrs["weight_names"] = [n.encode("utf8") for n in names]
                for n, v in zip(names, layer.weights):
                    g.create_dataset(n, data=np.asarray(v.numpy()))
            top = mw.create_group("top_level_model_weights")
            top.attrs["weight_names"] = np.zeros((0,), "S1")
            if getattr(model, "_is_compiled", False):
                from .keras_zip import compile_config
                cc = compile_config(model)
                tc = {k: _legacy_entries(cc[k]) for k in ("loss", "loss_weights", "metrics", "weighted_metrics",
                                                          "run_eagerly", "steps_per_execution", "jit_compile")}
                tc["optimizer_config"] = {"class_name": cc["optimizer"]["class_name"],
                                          "config": cc["optimizer"]["config"]}
                f.attrs["training_config"] = json.dumps(tc, default=_json_default)
                opt = model.optimizer
                if include_optimizer and opt is not None and opt.built:
                    og = f.create_group("optimizer_weights")
                    ovars = optimizer_variables_keras_order(opt)
                    onames = [f"{opt.name}/{_slot_name(v, i)}" for i, v in enumerate(ovars)]
                    og.attrs["weight_names"] = [n.encode("utf8") for n in onames]
                    for n, v in zip(onames, ovars):
                        og.create_dataset(n, data=np.asarray(v.numpy()))


def _weight_name(layer, v) -> str:
    name = str(getattr(v, "path", None) or v.name)
    return name.replace(":", "_")


def _slot_name(v, i) -> str:
    name = str(v.name).split("/")[-1] or f"var_{i}"
    return f"{i:04d}_{name}".replace(":", "_")


def _read_layer_weights(group, path):
    names = h5_name_list_attr(group, "weight_names", path)
    out = []
    for n in names:
        if n not in group:
            raise ModelFileError(path, f"layer group '{group.name}' lists weight {n!r} that is not in the file")
        out.append((n, group[n]))
    return out


def load_legacy_weights(model, f, path, skip_mismatch: bool = False) -> None:
    """Assign weights from a legacy-layout group (``model_weights`` or a Keras 2 weights file's root)."""
    root = f["model_weights"] if "model_weights" in f else f
    layer_names = h5_name_list_attr(root, "layer_names", path)
    stored = []
    for ln in layer_names:
        if ln not in root:
            raise ModelFileError(path, f"lists layer {ln!r} in layer_names but has no group for it")
        w = _read_layer_weights(root[ln], path)
        if w:
            stored.append((ln, w))
    layers = [layer for layer in model.layers if layer.weights]
    if len(layers) != len(stored):
        raise ModelFileError(path, f"holds weights for {len(stored)} layers {[n for n, _ in stored][:8]} but the model "
                                   f"has {len(layers)} layers with weights {[layer.name for layer in layers][:8]}")
    plan = []
    for layer, (ln, ws) in zip(layers, stored):
        variables = layer.weights
        if len(variables) != len(ws):
            msg = f"layer {ln!r} holds {len(ws)} weights but model layer '{layer.name}' has {len(variables)}"
            if skip_mismatch:
                warnings.warn(f"{path}: {msg}; skipped", stacklevel=3)
                continue
            raise ModelFileError(path, msg)
        try:
            plan.extend((v, read_dataset(d, path, f"{ln}/{n}", tuple(v.shape), v._value.dtype))
                        for v, (n, d) in zip(variables, ws))
        except ModelFileError:
            if skip_mismatch:
                warnings.warn(f"{path}: shape mismatch in layer {ln!r}; skipped", stacklevel=3)
                continue
            raise
    for v, a in plan:
        v._value[...] = a


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Load a whole-model legacy ``.h5`` file (tapeflow's or Keras's)."""
    filepath = str(filepath)
    with open_h5(filepath) as f:
        raw = h5_text_attr(f, "model_config", filepath)
        if raw is None:
            raise ModelFileError(filepath, "has no 'model_config' attribute: it holds weights only; build the "
                                           "model in code and call model.load_weights()")
        if not isinstance(raw, str):
            raise ModelFileError(filepath, f"its 'model_config' attribute is {type(raw).__name__}, not JSON text")
        config = parse_json(raw, filepath, "model_config")
        old_tapeflow = h5_text_attr(f, "backend", filepath) == "numpy" and "tapeflow_format" not in f.attrs
        model = build_model(config, filepath, custom_objects=custom_objects, safe_mode=safe_mode,
                            old_tapeflow=old_tapeflow)
        load_legacy_weights(model, f, filepath)
        tc_raw = h5_text_attr(f, "training_config", filepath)
        if compile and tc_raw:
            tc = parse_json(tc_raw, filepath, "training_config")
            oc = tc.get("optimizer_config")
            cc = dict(tc, optimizer=oc)
            compile_from_config(model, cc, filepath, custom_objects=custom_objects)
            if "optimizer_weights" in f:
                _load_optimizer_weights(model, f["optimizer_weights"], filepath)
    return model


def _load_optimizer_weights(model, group, path) -> None:
    from .weights_h5 import optimizer_variables_keras_order
    names = h5_name_list_attr(group, "weight_names", path)
    opt = model.optimizer
    if not opt.built:
        opt.build(model.trainable_variables)
    order = optimizer_variables_keras_order(opt)
    if len(names) != len(order):
        warnings.warn(f"{path}: optimizer_weights holds {len(names)} arrays but optimizer '{opt.name}' has "
                      f"{len(order)} variables; the optimizer state was not loaded", stacklevel=3)
        return
    for n in names:
        if n not in group:
            raise ModelFileError(path, f"optimizer_weights lists {n!r} that is not in the file")
    shapes = [tuple(group[n].shape) for n in names]
    for cand in (order, list(opt.variables)):
        if all(tuple(v.shape) == s for v, s in zip(cand, shapes)):
            arrays = [read_dataset(group[n], path, f"optimizer_weights/{n}", tuple(v.shape), v._value.dtype)
                      for v, n in zip(cand, names)]
            for v, a in zip(cand, arrays):
                v._value[...] = a
            return
    warnings.warn(f"{path}: optimizer_weights shapes do not match optimizer '{opt.name}'; not loaded", stacklevel=3)


__all__ = ["save_model", "load_model", "load_legacy_weights"]
