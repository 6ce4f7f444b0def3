"""compile / fit / evaluate / predict.

The split (as Keras 3): ``data_adapter`` turns user data into batches; this file runs the
epochs; ``train_step`` is the only place that knows how one batch trains:

    with GradientTape() as tape:
        y_pred = self(x, training=True)
        loss = self.compute_loss(x, y, y_pred, sample_weight)
    grads = tape.gradient(loss, self.trainable_variables)
    self.optimizer.apply_gradients(zip(grads, self.trainable_variables))

Override ``train_step`` / ``test_step`` / ``predict_step`` to customize, as in Keras.
"""
from __future__ import annotations

import sys

import numpy as np

from ..autodiff.tape import GradientTape
from ..autodiff.tensor import Tensor
from . import data_adapter as DA
from . import traced_step
from .compile_utils import CompileLoss, CompileMetrics, to_numpy_logs
from .layers.tracking import VERSION
from .utils import tree
from .utils.data_utils import unpack_x_y_sample_weight


class Trainer:
    """Mixed into ``Model``: Keras's training API."""

    _is_compiled = False
    stop_training = False
    _initial_epoch = None
    _trainer_record_grads = False
    _trainer_last_grads = None
    _distribute_strategy = None

    # -- compile --------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True, **kwargs):
        """Configure training: optimizer, loss(es), metrics (strings, objects, lists, dicts).

        >>> import tapeflow as tf
        >>> model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(3,))])
        >>> model.compile(optimizer="sgd", loss="mse")
        """
        from . import metrics as metrics_mod
        from . import optimizers
        self.optimizer = optimizers.get(optimizer)
        if auto_scale_loss:  # mixed_float16: wrap in a LossScaleOptimizer, as Keras does
            mp = sys.modules.get("tapeflow.keras.mixed_precision")
            if mp is not None:
                self.optimizer = mp.maybe_wrap_optimizer(self, self.optimizer)
        self._compile_config = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                                "weighted_metrics": weighted_metrics}
        names = self._output_names()
        self.loss = loss
        self._loss_tracker = metrics_mod.Mean(name="loss")
        self.compiled_loss = CompileLoss(loss, loss_weights, names) if loss is not None else None
        if self.compiled_loss is not None:
            self.compiled_loss._tracker = self._loss_tracker  # a tf.keras 2 train_step calls compiled_loss(...)
        self.compiled_metrics = CompileMetrics(metrics, weighted_metrics, names, loss=loss)
        self._per_output_trackers = None
        self._is_compiled = True
        self.stop_training = False
        self._run_eagerly = run_eagerly
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f"compile: jit_compile must be True, False or 'auto', got {jit_compile!r}")
        self._jit_compile = jit_compile  # "auto"/True: fit replays a traced step when it is safe (traced_step.py)
        traced_step.reset(self)
        from ..distribute import strategy as distribute
        if distribute.has_strategy():  # compiled in strategy.scope(): fit/evaluate run under that strategy
            self._distribute_strategy = distribute.get_strategy()

    def get_compile_config(self):
        """The arguments ``compile`` was given, serialized as Keras 3 saves them (None before compile)."""
        from .saving.keras_zip import compile_config
        return compile_config(self)

    def compile_from_config(self, config):
        """``compile`` from ``get_compile_config()``'s output (as ``load_model`` does)."""
        from .saving.keras_zip import compile_from_config
        compile_from_config(self, config, "compile_config")

    def _output_names(self):
        names = getattr(self, "output_names", None)
        if names:
            return list(names)
        outs = getattr(self, "outputs", None)
        if outs and len(outs) > 1:
            return [getattr(getattr(o, "_keras_history", None), "layer", None) and o._keras_history.layer.name
                    or f"output_{i}" for i, o in enumerate(outs)]
        return ["output"]

    @property
    def distribute_strategy(self):
        """The tf.distribute strategy the model was compiled under, else the current one (as Keras)."""
        from ..distribute import strategy as distribute
        return self._distribute_strategy or distribute.get_strategy()

    def _multi_worker(self):
        """The MultiWorkerMirroredStrategy to run under, or None (in-process strategies train the global batch)."""
        strategy = self.distribute_strategy
        return strategy if getattr(strategy, "_is_multi_worker", False) else None

    def _assert_compiled(self, method: str):
        if not self._is_compiled:
            raise RuntimeError(
                f"You must call `model.compile(optimizer, loss, metrics)` before `model.{method}()`; "
                f"the model '{getattr(self, 'name', type(self).__name__)}' has not been compiled")

    # -- the one-batch steps --------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Compiled loss plus the model's regularization losses (``self.losses``)."""
        losses = self.losses
        if self.compiled_loss is None:
            if not losses:
                raise ValueError("compute_loss: the model was compiled without a loss and adds none with add_loss; "
                                 "pass loss= to compile() or override train_step")
            total = losses[0]
            for r in losses[1:]:
                total = total + r
            return total
        return self.compiled_loss.compute(y, y_pred, sample_weight, regularization_losses=losses)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        self.compiled_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        out = {}
        for m in self.metrics:
            r = m.result()
            if isinstance(r, dict):
                out.update(r)
            else:
                out[m.name] = r
        return out

    def _metrics_result_or_logs(self, logs):
        """Epoch logs: the metrics' accumulated results when the step's logs name exactly those
        metrics (the default steps), else the last logs a custom step returned (as Keras)."""
        results = self.get_metrics_result()
        if isinstance(logs, dict) and set(logs) != set(results):
            return logs
        return results

    @property
    def metrics(self):
        """Every metric reset at each epoch: the loss tracker, the compiled metrics (the container itself
        until its first batch resolves it), then metrics held in attributes of the model and its layers
        and those made by ``add_metric``. A subclass may override this property, as in Keras."""
        out = []
        if self._is_compiled:
            out.append(self._loss_tracker)
            if self._per_output_trackers:
                out.extend(self._per_output_trackers)
            cm = self.compiled_metrics
            if cm.built:
                out.extend(cm.metrics)
            elif cm.spec is not None or cm.weighted_spec is not None:
                out.append(cm)
        tracked = _tracked_metrics(self)
        if tracked:
            out.extend(tracked)
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _track_loss(self, loss, y_pred, x):
        n = _batch_size(x)
        self._loss_tracker.update_state(loss, sample_weight=n)
        per = self.compiled_loss.last_per_output if self.compiled_loss is not None else None
        if per:
            if self._per_output_trackers is None:
                from . import metrics as metrics_mod
                self._per_output_trackers = [metrics_mod.Mean(name=f"{k}_loss") for k in self.compiled_loss.output_names]
            for t, v in zip(self._per_output_trackers, per):
                t.update_state(v, sample_weight=n)

    def train_step(self, data):
        """One optimization step on ``data`` = (x, y, sample_weight); returns the logs dict."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        variables = self.trainable_variables
        optimizer = self.optimizer
        scale = getattr(optimizer, "loss_scale_factor", None)  # LossScaleOptimizer / loss_scale_factor: scale inside the tape
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
            scaled = loss if scale is None else optimizer.scale_loss(loss)
        self._track_loss(loss, y_pred, x)
        grads = tape.gradient(scaled, variables)
        if self._trainer_record_grads:  # a diagnostics callback (GradientNorms) asked for them
            self._trainer_last_grads = (grads, variables, scale)
        optimizer.apply_gradients(zip(grads, variables))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        self._track_loss(loss, y_pred, x)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    # -- fit ------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1, **kwargs):
        """Train for ``epochs`` (the final epoch index when ``initial_epoch`` is set); returns History.

        >>> import numpy as np, tapeflow as tf
        >>> model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> h = model.fit(np.zeros((8, 2)), np.zeros((8, 1)), epochs=2, verbose=0)
        >>> len(h.history["loss"])
        2
        """
        from .callbacks import CallbackList
        self._assert_compiled("fit")
        if kwargs:
            raise TypeError(f"fit() got unexpected keyword arguments {sorted(kwargs)}")
        verbose = 1 if verbose == "auto" else int(verbose)
        if validation_split and validation_data is None:
            if not isinstance(x, (np.ndarray, Tensor, list, tuple, dict)):
                raise ValueError("fit: validation_split is only supported for array inputs; "
                                 "pass validation_data for a dataset or generator")
            x, x_val = DA.train_validation_split(x, validation_split)
            y, y_val = DA.train_validation_split(y, validation_split) if y is not None else (None, None)
            if sample_weight is not None:
                sample_weight, sw_val = DA.train_validation_split(sample_weight, validation_split)
            else:
                sw_val = None
            validation_data = (x_val, y_val, sw_val)
        if class_weight is not None:
            if y is None:
                raise ValueError("fit: class_weight needs y given as an array")
            sample_weight = _class_weight_to_sample_weight(y, class_weight, sample_weight)
        from .config import max_epochs, max_steps_per_epoch   # keras.config's global caps
        if max_epochs() is not None:
            epochs = min(epochs, max_epochs())
        if max_steps_per_epoch() is not None:
            steps_per_epoch = min(steps_per_epoch or max_steps_per_epoch(), max_steps_per_epoch())
        adapter = DA.get_adapter(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                                 steps=steps_per_epoch, check_finite=True, what="fit")
        val_adapter = None
        if validation_data is not None:
            if isinstance(validation_data, tuple):
                vx, vy, vsw = unpack_x_y_sample_weight(validation_data)
                val_adapter = DA.get_adapter(vx, vy, vsw, batch_size=validation_batch_size or batch_size,
                                             steps=validation_steps, what="fit(validation_data)")
            else:
                val_adapter = DA.get_adapter(validation_data, batch_size=validation_batch_size or batch_size,
                                             steps=validation_steps, what="fit(validation_data)")
        steps = adapter.num_batches()
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self,
            verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        train_step = self.train_step
        worker = self._multi_worker()
        if worker is not None:  # one MPI rank of several: shard batches, all-reduce gradients (worker_fit.py)
            from ..distribute import worker_fit
            adapter, train_step, worker_state = worker_fit.begin_fit(worker, self, adapter, train_step, cbs)
        else:
            train_step = traced_step.train_function(self)
        want_batch_begin = cbs.wants("on_train_batch_begin")
        want_batch_end = cbs.wants("on_train_batch_end")
        self._initial_epoch = None
        cbs.on_train_begin()
        # a callback that restores a run (BackupAndRestore) sets model._initial_epoch in on_train_begin
        if self._initial_epoch is not None:
            initial_epoch = max(int(initial_epoch), int(self._initial_epoch))
            self._initial_epoch = None
        logs = {}
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            step = -1
            for step, batch in enumerate(adapter.epoch()):
                if want_batch_begin:
                    cbs.on_train_batch_begin(step)
                logs = train_step(batch)
                if want_batch_end:
                    cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            if step < 0 and getattr(adapter, "exhausted", False):
                break
            if step < 0:
                raise ValueError("fit: the training data produced no batches; is the dataset empty?")
            if worker is not None:
                worker_fit.end_epoch(worker, self)
            epoch_logs = to_numpy_logs(self._metrics_result_or_logs(logs))
            if val_adapter is not None and _should_validate(epoch, validation_freq):
                val_logs = self._evaluate_adapter(val_adapter, cbs, verbose=0)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        if getattr(self.optimizer, "use_ema", False):
            self.optimizer.finalize_variable_values(self.trainable_variables)
        if worker is not None:
            worker_fit.end_fit(worker, self, worker_state)
        cbs.on_train_end(epoch_logs)
        for c in cbs:
            if type(c).__name__ == "History":
                return c
        return self.history

    # -- evaluate / predict ---------------------------------------------------------------
    def _evaluate_adapter(self, adapter, cbs, verbose):
        self.reset_metrics()
        cbs.on_test_begin()
        want = cbs.wants("on_test_batch_end")
        test_step = self.test_step
        worker = self._multi_worker()
        if worker is not None:
            from ..distribute import worker_fit
            adapter, test_step = worker_fit.wrap_evaluate(worker, self, adapter)
        logs = {}
        n = -1
        for n, batch in enumerate(adapter.epoch()):
            if cbs.wants("on_test_batch_begin"):
                cbs.on_test_batch_begin(n)
            logs = test_step(batch)
            if want:
                cbs.on_test_batch_end(n, logs)
        if n < 0:
            raise ValueError("evaluate: the data produced no batches; is it empty?")
        if worker is not None:
            worker_fit.reduce_state(worker, self)
        logs = to_numpy_logs(self._metrics_result_or_logs(logs))
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics on data: a scalar, ``[loss, *metrics]``, or a dict (``return_dict``)."""
        from .callbacks import CallbackList
        self._assert_compiled("evaluate")
        verbose = 1 if verbose == "auto" else int(verbose)
        adapter = DA.get_adapter(x, y, sample_weight, batch_size=batch_size, steps=steps, what="evaluate")
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                           steps=adapter.num_batches(), epochs=1)
        logs = self._evaluate_adapter(adapter, cbs, verbose)
        if return_dict:
            return logs
        vals = [logs[k] for k in logs]
        return vals[0] if len(vals) == 1 else vals

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        """Model outputs for ``x`` as NumPy arrays, batch by batch (no tape, no gradients)."""
        from .callbacks import CallbackList
        verbose = 1 if verbose == "auto" else int(verbose)
        adapter = DA.get_adapter(x, None, None, batch_size=batch_size, steps=steps, what="predict")
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                           steps=adapter.num_batches(), epochs=1)
        cbs.on_predict_begin()
        outs = []
        for n, batch in enumerate(adapter.epoch()):
            cbs.on_predict_batch_begin(n)
            out = self.predict_step(batch)
            outs.append(tree.map_structure(lambda t: t._value if isinstance(t, Tensor) else np.asarray(t), out))
            cbs.on_predict_batch_end(n, {"outputs": outs[-1]})
        cbs.on_predict_end()
        if not outs:
            raise ValueError("predict: the input produced no batches; is it empty?")
        first = outs[0]
        if isinstance(first, dict):
            return {k: np.concatenate([o[k] for o in outs]) for k in first}
        if isinstance(first, (list, tuple)):
            return [np.concatenate([o[i] for o in outs]) for i in range(len(first))]
        return np.concatenate(outs)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False,
                       reset_metrics=False):
        """One training step on one batch; returns the loss (and metrics) so far."""
        self._assert_compiled("train_on_batch")
        if reset_metrics:
            self.reset_metrics()
        if class_weight is not None:
            sample_weight = _class_weight_to_sample_weight(y, class_weight, sample_weight)
        batch = next(DA.ArrayDataAdapter(x, y, sample_weight, batch_size=_batch_size(x), what="train_on_batch").epoch())
        logs = to_numpy_logs(self.train_step(batch))
        return logs if return_dict else _flatten_logs(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False, reset_metrics=True):
        self._assert_compiled("test_on_batch")
        if reset_metrics:
            self.reset_metrics()
        batch = next(DA.ArrayDataAdapter(x, y, sample_weight, batch_size=_batch_size(x), what="test_on_batch").epoch())
        logs = to_numpy_logs(self.test_step(batch))
        return logs if return_dict else _flatten_logs(logs)

    def predict_on_batch(self, x):
        out = self.predict_step((DA._as_array(x, "predict_on_batch: x") if not isinstance(x, (list, dict)) else x,))
        return tree.map_structure(lambda t: t._value if isinstance(t, Tensor) else t, out)


def _tracked_metrics(model) -> list:
    """Metric objects in attributes (or lists/dicts) of the model and its non-Model sub-layers, plus the
    ``add_metric`` ones; cached until the layer tree or an attribute holding a metric changes."""
    cache = model.__dict__.get("_cache")
    c = cache.get("metrics") if cache is not None else None
    if c is not None and c[0] == VERSION[0]:
        return c[1]
    from .metrics.base import Metric
    out, seen = [], set()

    def take(v, depth=0):
        if isinstance(v, Metric):
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        elif depth < 2 and isinstance(v, (list, tuple)):
            for e in v:
                take(e, depth + 1)
        elif depth < 2 and isinstance(v, dict):
            for e in v.values():
                take(e, depth + 1)
    layers = model._flatten_layers() if hasattr(model, "_flatten_layers") else [model]
    for layer in layers:
        if layer is not model and isinstance(layer, Trainer):
            continue  # a wrapped Model keeps its own metrics (as Keras 3)
        for k, v in layer.__dict__.items():
            if k in _TRAINER_ATTRS or k == "_added_metrics":
                continue
            take(v)
        for m in layer.__dict__.get("_added_metrics", {}).values():
            take(m)
    if cache is not None:
        cache["metrics"] = (VERSION[0], out)
    return out


_TRAINER_ATTRS = frozenset({"_loss_tracker", "_per_output_trackers", "compiled_metrics", "compiled_loss",
                            "optimizer", "history"})


def _flatten_logs(logs):
    vals = list(logs.values())
    return vals[0] if len(vals) == 1 else vals


def _batch_size(x) -> int:
    a = tree.first(x)
    shape = getattr(a, "shape", None)
    return int(shape[0]) if shape else 1


def _should_validate(epoch, freq) -> bool:
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return (epoch + 1) in freq


def _class_weight_to_sample_weight(y, class_weight, sample_weight):
    if isinstance(y, (list, dict)) and not isinstance(y, np.ndarray):
        raise ValueError("class_weight is only supported for models with a single output")
    y = np.asarray(getattr(y, "_value", y))
    cls = np.argmax(y, axis=-1) if (y.ndim > 1 and y.shape[-1] > 1) else y.reshape(y.shape[0], -1)[:, 0]
    cls = cls.astype(np.int64)
    missing = set(np.unique(cls).tolist()) - set(int(k) for k in class_weight)
    if missing:
        raise ValueError(f"class_weight has no entry for classes {sorted(missing)}; give a weight for every class")
    table = np.zeros(int(max(max(class_weight), cls.max())) + 1, dtype=np.float32)
    for k, w in class_weight.items():
        table[int(k)] = w
    sw = table[cls]
    return sw if sample_weight is None else sw * np.asarray(sample_weight, dtype=np.float32)
