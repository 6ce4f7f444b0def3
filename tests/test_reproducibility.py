"""Same seed -> bitwise-identical weights after training, in one process and across processes.

The training run uses every source of randomness fit touches: initializers, Dropout, fit's
shuffling, a shuffled tf.data pipeline with a random op inside a parallel ``map``.

Bitwise identity across *machines* also needs the same BLAS thread count: OpenBLAS's float32 GEMM
gives different roundings with 1 thread and with 2+ threads (measured on a 512x2048x1024 product),
so pin ``OPENBLAS_NUM_THREADS`` when comparing runs on different hosts. For a fixed thread count
it is deterministic.
"""
import hashlib
import os
import random
import subprocess
import sys

import numpy as np

import tapeflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = r'''
import hashlib, sys
import numpy as np
import tapeflow as tf

def train(seed):
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((192, 8)).astype(np.float32)
    y = (x[:, :1] + x[:, 1:2] > 0).astype(np.float32)
    ds = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(192)
          .map(lambda a, b: (a + tf.random.normal(tf.shape(a), stddev=0.1), b), num_parallel_calls=4)
          .batch(32))
    m = tf.keras.Sequential([tf.keras.layers.Dense(16, activation="relu", input_shape=(8,)),
                             tf.keras.layers.Dropout(0.3), tf.keras.layers.Dense(1, activation="sigmoid")])
    m.compile(tf.keras.optimizers.Adam(0.01), "binary_crossentropy")
    m.fit(ds, epochs=2, verbose=0)
    m.fit(x, y, batch_size=16, epochs=2, shuffle=True, verbose=0)
    h = hashlib.sha256()
    for w in m.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    return h.hexdigest()

print(train(int(sys.argv[1])))
'''


def _run(seed, hashseed):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONHASHSEED=str(hashseed))
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(seed)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_same_seed_same_weights_across_processes():
    a = _run(42, hashseed=1)
    b = _run(42, hashseed=2)  # a different string-hash seed: no set/dict order leaks into the numbers
    assert a == b
    assert _run(43, hashseed=1) != a


def _train_in_process(seed):
    ns = {}
    exec(SCRIPT.split("print(train")[0], ns)  # noqa: S102 - our own test script
    return ns["train"](seed)


def test_same_seed_same_weights_in_one_process():
    assert _train_in_process(7) == _train_in_process(7)


def test_parallel_map_random_ops_match_serial_map():
    def pipeline(parallel):
        tf.random.set_seed(3)
        ds = tf.data.Dataset.range(40).map(lambda i: tf.random.uniform((3,)), num_parallel_calls=parallel)
        return np.stack([t.numpy() for t in ds])
    assert np.array_equal(pipeline(None), pipeline(4))


def test_set_random_seed_seeds_python_numpy_and_tapeflow():
    tf.keras.utils.set_random_seed(5)
    first = (random.random(), np.random.rand(), tf.random.uniform((2,)).numpy().tolist(),
             tf.keras.initializers.GlorotUniform()((2, 2)).numpy().tolist())
    tf.keras.utils.set_random_seed(5)
    second = (random.random(), np.random.rand(), tf.random.uniform((2,)).numpy().tolist(),
              tf.keras.initializers.GlorotUniform()((2, 2)).numpy().tolist())
    assert first == second


def test_op_determinism_flag():
    tf.config.experimental.enable_op_determinism()
    try:
        assert tf.config.experimental.is_op_determinism_enabled()
    finally:
        tf.config.experimental.disable_op_determinism()


def test_dropout_masks_repeat_after_set_seed():
    layer = tf.keras.layers.Dropout(0.5)
    x = tf.ones((4, 8))
    tf.random.set_seed(11)
    a = layer(x, training=True).numpy()
    tf.random.set_seed(11)
    b = layer(x, training=True).numpy()
    assert np.array_equal(a, b) and hashlib.sha256(a.tobytes()).digest()
