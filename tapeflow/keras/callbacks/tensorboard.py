"""``TensorBoard``: event files that TensorBoard reads, in the layout Keras writes.

Scalars ``epoch_<metric>`` go to ``<log_dir>/train`` and (for ``val_*`` logs, prefix dropped) to
``<log_dir>/validation``, with the learning rate as ``epoch_learning_rate``; ``update_freq="batch"`` or an
integer adds ``batch_<metric>`` scalars every that many batches; ``histogram_freq=N`` writes
``<weight path>/histogram`` for every weight every N epochs; each evaluation writes
``evaluation_<metric>_vs_iterations``; ``write_graph=True`` (the default) puts the model's layer graph
(one node per layer, named after it, with its class as the op and its output shape and parameter
count as attributes, an edge per connection) in the train run for TensorBoard's Graphs tab. Files are written by the maintained ``tensorboardX`` library
(``pip install 'tapeflow[tensorboard]'``), imported only when training starts.
"""
from __future__ import annotations

import os

import numpy as np

from .base import Callback
from .monitor import scalar


def _summary_writer_cls():
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError("The TensorBoard callback writes event files with tensorboardX: "
                          "pip install 'tapeflow[tensorboard]' (or pip install tensorboardX)") from None
    return SummaryWriter


class TensorBoard(Callback):
    """Log metrics, the learning rate and weight histograms for TensorBoard.

    ``write_images``, ``profile_batch`` and the embedding options are accepted for compatibility and
    ignored (no profiler or embedding projector data exists to write).

    >>> import os, tempfile, numpy as np, tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    >>> m.compile(optimizer="sgd", loss="mse")
    >>> d = tempfile.mkdtemp()
    >>> _ = m.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0,
    ...           callbacks=[tf.keras.callbacks.TensorBoard(log_dir=d, histogram_freq=1)])
    >>> sorted(os.listdir(d))
    ['train']
    """

    _chief_only = True  # multi-worker runs: only rank 0 prints / writes

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq or 0)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer, "
                             f"got {update_freq!r}")
        self.update_freq = update_freq
        self._writers = {}
        self._global_train_batch = 0
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        if self.update_freq != "epoch":
            # an instance hook: fit's per-batch calls stay off when nothing is written per batch
            self.on_train_batch_end = self._write_batch_scalars

    # -- writers ------------------------------------------------------------------------------
    def _writer(self, which: str):
        w = self._writers.get(which)
        if w is None:
            folder = self._train_dir if which == "train" else self._val_dir
            os.makedirs(folder, exist_ok=True)
            w = self._writers[which] = _summary_writer_cls()(logdir=folder)
        return w

    def _close(self):
        for w in self._writers.values():
            w.close()
        self._writers = {}

    # -- hooks --------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        w = self._writer("train")
        if self.write_graph and self.model is not None:
            _write_layer_graph(w, self.model)

    def _write_batch_scalars(self, batch, logs=None):
        self._global_train_batch += 1
        if self._global_train_batch % self.update_freq != 0:
            return
        w = self._writer("train")
        for name, value in (logs or {}).items():
            v = scalar(value)
            if v is not None:
                w.add_scalar(f"batch_{name}", v, self._global_train_batch)

    def on_test_end(self, logs=None):
        opt = getattr(self.model, "optimizer", None)
        if opt is None or not logs:
            return
        step = int(np.asarray(getattr(opt.iterations, "_value", opt.iterations)))
        w = self._writer("validation")
        for name, value in logs.items():
            v = scalar(value)
            if v is not None:
                w.add_scalar(f"evaluation_{name}_vs_iterations", v, step)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and hasattr(opt, "learning_rate"):
            train["learning_rate"] = float(np.asarray(getattr(opt.learning_rate, "_value", opt.learning_rate)))
        for which, values in (("train", train), ("validation", val)):
            if not values:
                continue
            w = self._writer(which)
            for name, value in values.items():
                v = scalar(value)
                if v is not None:
                    w.add_scalar(f"epoch_{name}", v, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for w in self._writers.values():
            w.flush()

    def _log_weights(self, epoch):
        w = self._writer("train")
        for layer in self.model.layers:
            for var in layer.weights:
                name = str(getattr(var, "path", None) or var.name).replace(":", "_")
                values = np.asarray(var.numpy(), dtype=np.float64)
                if values.size:
                    w.add_histogram(f"{name}/histogram", values, epoch)

    def on_train_end(self, logs=None):
        self._close()


def _write_layer_graph(writer, model) -> None:
    """Add the model's layer graph (a ``GraphDef``) to ``writer``'s event file."""
    from tensorboardX.proto import attr_value_pb2, event_pb2, graph_pb2, node_def_pb2

    from ..utils.model_visualization import layer_graph
    layers, edges = layer_graph(model)
    parents = {i: [] for i in range(len(layers))}
    for a, b in edges:
        parents[b].append(layers[a].name)
    graph = graph_pb2.GraphDef()
    for i, layer in enumerate(layers):
        try:
            shape = str(layer.output_shape)
        except (AttributeError, ValueError):
            shape = "?"
        attrs = {"output_shape": attr_value_pb2.AttrValue(s=shape.encode()),
                 "params": attr_value_pb2.AttrValue(i=int(layer.count_params()) if layer.built else 0)}
        graph.node.append(node_def_pb2.NodeDef(name=layer.name, op=type(layer).__name__, input=parents[i],
                                               attr=attrs))
    writer._get_file_writer().add_event(event_pb2.Event(graph_def=graph.SerializeToString()))
