"""``BackupAndRestore``: resume an interrupted ``fit`` exactly where its last backup left it."""
from __future__ import annotations

import json
import os

import numpy as np

from .base import Callback, is_chief

_STATE_GROUP = "training_state"
_BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM, "MT19937": np.random.MT19937,
                   "Philox": np.random.Philox, "SFC64": np.random.SFC64}


def capture_rng_state() -> dict:
    """tapeflow's global RNG (seed, generator, per-op-seed counters) and NumPy's legacy global RNG, as JSON data."""
    from ...backend import rng
    st = rng.get_state()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"tapeflow": {"seed": st["seed"], "generator": st["generator"],
                         "op_counts": [[int(k), int(v)] for k, v in st["op_counts"].items()]},
            "numpy": {"name": str(name), "keys": [int(k) for k in keys], "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}


def restore_rng_state(state: dict, path) -> None:
    """Inverse of :func:`capture_rng_state`; the bit generator must be one of NumPy's known ones."""
    from ...backend import rng
    from ..saving.safety import ModelFileError
    try:
        tf_state, np_state = state["tapeflow"], state["numpy"]
        gen_state = dict(tf_state["generator"])
        cls = _BIT_GENERATORS.get(gen_state.get("bit_generator"))
        if cls is None:
            raise ModelFileError(path, f"unknown random bit generator {gen_state.get('bit_generator')!r} in the backup")
        bitgen = cls()
        bitgen.state = gen_state
        keys = np.asarray(np_state["keys"], dtype=np.uint32)
        if keys.shape != (624,) or np_state["name"] != "MT19937":
            raise ModelFileError(path, "the NumPy RNG state in the backup is malformed")
        np_tuple = ("MT19937", keys, int(np_state["pos"]), int(np_state["has_gauss"]), float(np_state["cached_gaussian"]))
        seed = tf_state["seed"]
        counts = {int(k): int(v) for k, v in tf_state["op_counts"]}
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(path, f"the RNG state in the backup is malformed ({e})") from None
    np.random.set_state(np_tuple)
    rng.set_state(seed, np.random.Generator(bitgen), counts)


class BackupAndRestore(Callback):
    """Back up the training state to ``backup_dir`` and restore it when ``fit`` is run again after an interruption.

    The backup (``backup_dir/latest.weights.h5``, written atomically) holds the weights and optimizer state
    in Keras 3's layout plus the epoch counter and the random state (tapeflow's and NumPy's), so a run killed
    after epoch ``k`` and started again with the same code ends with the same weights, bit for bit, as a run
    that was never interrupted. ``save_freq="epoch"`` backs up at each epoch end; an integer backs up every
    that many batches (a resumed run then restarts the interrupted epoch, as Keras does). With
    ``delete_checkpoint`` the backup is removed when training finishes.

    >>> import os, tempfile, numpy as np, tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    >>> m.compile(optimizer="sgd", loss="mse")
    >>> cb = tf.keras.callbacks.BackupAndRestore(os.path.join(tempfile.mkdtemp(), "backup"))
    >>> _ = m.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[cb])
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True, double_checkpoint=False):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: an empty backup_dir was given")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch' or a positive integer, got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.double_checkpoint = double_checkpoint  # writes are atomic: the last good backup always survives
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._current_epoch = 0
        self._batches_seen = 0

    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError("To use the BackupAndRestore callback, your model must be built before you call fit(). "
                             f"Model '{self.model.name}' is unbuilt; call it on a batch of data or build() it first.")
        self._current_epoch = 0
        self._batches_seen = 0
        if os.path.exists(self._weights_path):
            self._restore()

    def _restore(self) -> None:
        from ..saving.safety import ModelFileError, open_h5, parse_json
        from ..saving.weights_h5 import load_weights_group
        path = self._weights_path
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and not opt.built:
            opt.build(self.model.trainable_variables)
        with open_h5(path) as f:
            if _STATE_GROUP not in f:
                raise ModelFileError(path, f"has no '{_STATE_GROUP}' group; not a BackupAndRestore backup")
            g = f[_STATE_GROUP]
            meta = parse_json(str(g.attrs.get("metadata", "")), path, "training_state metadata")
            epoch = meta.get("epoch")
            if not isinstance(epoch, int) or epoch < 0:
                raise ModelFileError(path, f"training_state epoch should be a non-negative integer, got {epoch!r}")
            load_weights_group(f, self.model, path, strict_optimizer=True)
            restore_rng_state(meta.get("rng", {}), path)
        self._current_epoch = epoch
        self.model._initial_epoch = epoch

    def _save(self) -> None:
        import h5py

        from ..saving.safety import atomic_write
        from ..saving.weights_h5 import write_weights_group
        if not is_chief(self.model):  # every worker reads the backup; rank 0 alone writes it
            return
        meta = {"epoch": int(self._current_epoch), "rng": capture_rng_state()}
        with atomic_write(self._weights_path) as tmp:
            with h5py.File(tmp, "w") as f:
                write_weights_group(f, self.model)
                g = f.create_group(_STATE_GROUP)
                g.attrs["metadata"] = json.dumps(meta)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        if self.save_freq == "epoch":
            self._save()

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and is_chief(self.model) and os.path.exists(self._weights_path):
            os.remove(self._weights_path)
            try:
                os.rmdir(self.backup_dir)
            except OSError:
                pass
