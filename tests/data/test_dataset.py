"""tf.data semantics of tapeflow.data.Dataset: order, shuffle buffer, seeds, threads, cache, counts."""
import os
import threading
import time
import zipfile

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.data import TensorSpec

Dataset = tf.data.Dataset


def ints(ds):
    return [int(x) for x in ds]


# -- sources ------------------------------------------------------------------------------------------
def test_from_tensor_slices_order_structures_and_types():
    x, y = np.arange(12).reshape(6, 2), np.arange(6) * 10
    pairs = list(Dataset.from_tensor_slices((x, y)))
    assert len(pairs) == 6 and all(isinstance(a, tf.Tensor) for p in pairs for a in p)
    assert [p[1].numpy().item() for p in pairs] == [0, 10, 20, 30, 40, 50]
    assert pairs[3][0].numpy().tolist() == [6, 7]
    d = list(Dataset.from_tensor_slices({"a": x, "b": {"c": y}}).as_numpy_iterator())
    assert d[2]["a"].tolist() == [4, 5] and d[2]["b"]["c"] == 20 and isinstance(d[2]["b"]["c"], np.integer)
    assert Dataset.from_tensor_slices([1.5, 2.5]).element_spec == TensorSpec((), "float32")
    assert ints(Dataset.from_tensors(np.arange(3)).unbatch()) == [0, 1, 2]


def test_from_tensor_slices_errors_name_the_op_and_sizes():
    with pytest.raises(ValueError, match=r"from_tensor_slices.*60.*59"):
        Dataset.from_tensor_slices((np.zeros((60, 2)), np.zeros(59)))
    with pytest.raises(ValueError, match=r"from_tensor_slices.*scalar"):
        Dataset.from_tensor_slices((np.zeros(3), 5))


def test_range_zip_concatenate_enumerate():
    assert ints(Dataset.range(5)) == [0, 1, 2, 3, 4]
    assert ints(Dataset.range(10, 2, -3)) == [10, 7, 4]
    z = Dataset.zip(Dataset.range(3), Dataset.range(10, 20))
    assert [(int(a), int(b)) for a, b in z] == [(0, 10), (1, 11), (2, 12)]
    assert int(z.cardinality()) == 3
    zd = Dataset.zip({"a": Dataset.range(2), "b": Dataset.range(5, 7)})
    assert [(int(e["a"]), int(e["b"])) for e in zd] == [(0, 5), (1, 6)]
    c = Dataset.range(2).concatenate(Dataset.range(7, 9))
    assert ints(c) == [0, 1, 7, 8] and len(c) == 4
    with pytest.raises(TypeError, match="concatenate"):
        Dataset.range(2).concatenate(Dataset.from_tensor_slices(np.zeros(2, np.float32))).element_spec
    e = Dataset.range(5, 8).enumerate(start=2)
    assert [(int(i), int(v)) for i, v in e] == [(2, 5), (3, 6), (4, 7)]


def test_from_generator_signature_shapes_and_errors():
    def gen():
        for n in range(1, 4):
            yield np.arange(n), n
    sig = (TensorSpec((None,), tf.int32), TensorSpec((), tf.int32))
    ds = Dataset.from_generator(gen, output_signature=sig)
    out = list(ds.as_numpy_iterator())
    assert [a.tolist() for a, _ in out] == [[0], [0, 1], [0, 1, 2]] and out[0][0].dtype == np.int32
    assert int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    assert ints(ds.map(lambda a, n: n)) == [1, 2, 3]  # each pass calls the generator again
    bad = Dataset.from_generator(lambda: iter([np.zeros(3)]), output_signature=TensorSpec((2,), tf.float32))
    with pytest.raises(ValueError, match=r"from_generator.*\(3,\).*\(2,\)"):
        list(bad)
    legacy = Dataset.from_generator(lambda: iter([1, 2]), output_types=tf.int64, output_shapes=())
    assert ints(legacy) == [1, 2] and legacy.element_spec.dtype == np.int64
    inferred = Dataset.from_generator(lambda: iter([(1.0, 2)]))
    assert inferred.element_spec[0].dtype == np.float32


# -- shuffle -------------------------------------------------------------------------------------------
def test_shuffle_is_a_permutation_and_buffer_one_keeps_order():
    ds = Dataset.range(100)
    assert sorted(ints(ds.shuffle(100, seed=3))) == list(range(100))
    assert ints(ds.shuffle(100, seed=3)) != list(range(100))
    assert ints(ds.shuffle(1, seed=3)) == list(range(100))


@pytest.mark.parametrize("buffer_size", [2, 5, 17])
def test_small_buffer_only_displaces_locally(buffer_size):
    # Element i enters the buffer after output i - B was emitted, so its position is >= i - B + 1.
    n = 300
    attained = False
    for seed in range(20):
        for ds in (Dataset.range(n), Dataset.range(n).map(lambda x: x)):  # bulk-index and per-element paths
            pos = np.empty(n, int)
            pos[ints(ds.shuffle(buffer_size, seed=seed))] = np.arange(n)
            assert (pos >= np.arange(n) - buffer_size + 1).all()
            attained |= bool((pos == np.arange(n) - buffer_size + 1).any())
    assert attained  # the bound is tight


def test_reshuffle_each_epoch_and_repeatable_across_fresh_pipelines():
    def epochs(**kw):
        ds = Dataset.range(50).shuffle(50, seed=42, **kw)
        return [ints(ds) for _ in range(3)]
    a, b = epochs(), epochs()
    assert a == b  # same seed -> the same sequence of epoch orders
    assert a[0] != a[1] != a[2]
    fixed = epochs(reshuffle_each_iteration=False)
    assert fixed[0] == fixed[1] == fixed[2]


def test_shuffle_global_seed_only_is_repeatable_and_op_seed_combines():
    tf.random.set_seed(7)
    a = ints(Dataset.range(40).shuffle(40))
    tf.random.set_seed(7)
    b = ints(Dataset.range(40).shuffle(40))
    assert a == b
    orders = []
    for global_seed in (8, 9, 8):  # the op seed is combined with the global seed
        tf.random.set_seed(global_seed)
        orders.append(ints(Dataset.range(40).shuffle(40, seed=1)))
    assert orders[0] == orders[2] != orders[1]
    tf.random.set_seed(None)


def test_bulk_batch_path_equals_per_element_path():
    x = np.arange(200).reshape(100, 2)
    fast = Dataset.from_tensor_slices(x).shuffle(30, seed=5).repeat(2).skip(7).take(150).shard(2, 1).batch(16)
    slow = (Dataset.from_tensor_slices(x).map(lambda v: v).shuffle(30, seed=5).repeat(2).skip(7).take(150)
            .shard(2, 1).batch(16))
    a, b = list(fast.as_numpy_iterator()), list(slow.as_numpy_iterator())
    assert len(a) == len(b) == len(fast) == 5
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_shuffle_then_repeat_reshuffles_each_repetition():
    out = ints(Dataset.range(20).shuffle(20, seed=1).repeat(3))
    parts = [out[:20], out[20:40], out[40:]]
    assert all(sorted(p) == list(range(20)) for p in parts) and parts[0] != parts[1]


# -- map -----------------------------------------------------------------------------------------------
def test_map_unpacks_tuples_passes_dicts_and_lists_become_tuples():
    ds = Dataset.from_tensor_slices((np.arange(3), np.arange(3) * 2)).map(lambda a, b: a + b)
    assert ints(ds) == [0, 3, 6]
    d = Dataset.from_tensor_slices({"a": np.arange(3)}).map(lambda e: e["a"] * 10)
    assert ints(d) == [0, 10, 20]
    lst = Dataset.range(2).map(lambda x: [x, x + 1])
    assert isinstance(lst.element_spec, tuple) and [tuple(map(int, e)) for e in lst] == [(0, 1), (1, 2)]


def test_parallel_map_keeps_order_and_uses_several_threads():
    threads = set()

    def slow(x):
        threads.add(threading.get_ident())
        time.sleep(0.002 * float(x % 3))
        return x * 2
    out = ints(Dataset.range(200).map(slow, num_parallel_calls=4))
    assert out == [2 * i for i in range(200)]
    assert len(threads) > 1 and threading.get_ident() not in threads
    assert ints(Dataset.range(50).map(lambda x: x + 1, num_parallel_calls=tf.data.AUTOTUNE)) == list(range(1, 51))


def test_map_errors_propagate_from_workers():
    def boom(x):
        if int(x) == 37:
            raise RuntimeError("bad element 37")
        return x
    for npc in (None, 3):
        with pytest.raises(RuntimeError, match="bad element 37"):
            list(Dataset.range(100).map(boom, num_parallel_calls=npc))


def test_random_augmentation_in_map_is_seeded_and_thread_independent():
    imgs = np.arange(64 * 4 * 4).reshape(64, 4, 4, 1).astype(np.float32)

    def run(npc):
        tf.random.set_seed(123)
        ds = Dataset.from_tensor_slices(imgs).map(tf.image.random_flip_left_right, num_parallel_calls=npc)
        return np.stack(list(ds.as_numpy_iterator()))
    seq, par, par2 = run(None), run(4), run(4)
    np.testing.assert_array_equal(seq, par)
    np.testing.assert_array_equal(par, par2)
    flipped = np.array([not np.array_equal(o, i) for o, i in zip(seq, imgs)])
    assert 10 < flipped.sum() < 54
    tf.random.set_seed(None)


# -- batching --------------------------------------------------------------------------------------------
def test_batch_shapes_specs_dicts_and_cardinality():
    ds = Dataset.from_tensor_slices({"x": np.zeros((10, 3), np.float32), "y": np.arange(10)})
    b = ds.batch(4)
    shapes = [e["x"].shape.as_list() for e in b]
    assert shapes == [[4, 3], [4, 3], [2, 3]] and len(b) == 3
    assert b.element_spec["x"].shape.as_list() == [None, 3]
    bd = ds.batch(4, drop_remainder=True)
    assert len(bd) == 2 and bd.element_spec["y"].shape.as_list() == [4]
    assert [e["y"].numpy().tolist() for e in bd] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_batch_of_mismatched_shapes_suggests_padded_batch():
    ds = Dataset.range(1, 4).map(lambda n: tf.fill([n], n))
    with pytest.raises(ValueError, match="padded_batch"):
        list(ds.batch(3))


def test_padded_batch_values_shapes_and_errors():
    ds = Dataset.range(1, 4).map(lambda n: (tf.fill([n], n), n))
    (a, n), = list(ds.padded_batch(3, padded_shapes=([4], []), padding_values=(np.int64(-1), np.int64(0)))
                   .as_numpy_iterator())
    assert a.tolist() == [[1, -1, -1, -1], [2, 2, -1, -1], [3, 3, 3, -1]] and n.tolist() == [1, 2, 3]
    assert [x.shape.as_list() for x, _ in ds.padded_batch(2)] == [[2, 2], [1, 3]]
    with pytest.raises(ValueError, match="padded_batch.*larger than the padded shape 2"):
        list(ds.padded_batch(3, padded_shapes=([2], [])))


def test_unbatch_and_rebatch():
    ds = Dataset.range(10).batch(4)
    assert ints(ds.unbatch()) == list(range(10))
    assert [b.shape[0] for b in ds.rebatch(3)] == [3, 3, 3, 1]
    assert len(Dataset.range(12).batch(4, drop_remainder=True).unbatch()) == 12


# -- counting ops and cardinality --------------------------------------------------------------------
def test_repeat_take_skip_filter_shard_semantics():
    ds = Dataset.range(5)
    assert ints(ds.repeat(2)) == [0, 1, 2, 3, 4] * 2
    assert ints(ds.repeat().take(7)) == [0, 1, 2, 3, 4, 0, 1]
    assert ints(ds.skip(3)) == [3, 4] and ints(ds.skip(-1)) == [] and ints(ds.take(-1)) == list(range(5))
    assert ints(ds.filter(lambda x: x % 2 == 0)) == [0, 2, 4]
    assert ints(Dataset.range(10).shard(3, 1)) == [1, 4, 7]
    assert ints(Dataset.from_tensor_slices(np.arange(10)).shard(3, 2)) == [2, 5, 8]
    assert int(Dataset.range(0).repeat().cardinality()) == 0 and ints(Dataset.range(0).repeat()) == []
    with pytest.raises(ValueError, match="filter.*scalar boolean"):
        list(ds.filter(lambda x: x))


def test_cardinality_values_and_len():
    INF, UNK = tf.data.INFINITE_CARDINALITY, tf.data.UNKNOWN_CARDINALITY
    assert (INF, UNK, tf.data.AUTOTUNE) == (-1, -2, -1)
    ds = Dataset.range(10)
    cases = {ds.batch(3): 4, ds.batch(3, drop_remainder=True): 3, ds.repeat(): INF, ds.repeat(3): 30,
             ds.repeat().take(4): 4, ds.repeat().skip(4): INF, ds.take(20): 10, ds.skip(4): 6, ds.skip(20): 0,
             ds.filter(lambda x: x > 1): UNK, ds.shard(3, 0): 4, ds.shard(3, 2): 3, ds.map(lambda x: x): 10,
             ds.shuffle(4).prefetch(2).cache(): 10, Dataset.zip(ds, ds.repeat()): 10, ds.concatenate(ds): 20,
             ds.filter(lambda x: x > 1).repeat(): UNK, ds.repeat().filter(lambda x: x > 1): INF}
    for d, n in cases.items():
        assert int(d.cardinality()) == n, d
        assert int(tf.data.experimental.cardinality(d)) == n
    with pytest.raises(TypeError, match="infinite"):
        len(ds.repeat())
    with pytest.raises(TypeError, match="unknown"):
        len(ds.filter(lambda x: x > 1))


def test_element_spec_reduce_options_and_single_element():
    ds = (Dataset.from_tensor_slices((np.zeros((8, 28, 28), np.uint8), np.zeros(8, np.int64)))
          .map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y)).batch(4))
    xs, ys = ds.element_spec
    assert xs == TensorSpec((None, 28, 28), tf.float32) and ys.shape.as_list() == [None]
    assert int(Dataset.range(5).reduce(np.int64(0), lambda s, x: s + x)) == 10
    opts = tf.data.Options()
    opts.experimental_deterministic = False
    o = Dataset.range(3).with_options(opts)
    assert o.options().deterministic is False and ints(o) == [0, 1, 2]
    assert int(Dataset.range(4, 5).get_single_element()) == 4


# -- prefetch ---------------------------------------------------------------------------------------------
def test_prefetch_runs_ahead_and_overlaps():
    produced = []

    def gen():
        for i in range(10):
            time.sleep(0.02)
            produced.append(i)
            yield i
    ds = Dataset.from_generator(gen, output_signature=TensorSpec((), tf.int32))

    def consume(d):
        t = time.perf_counter()
        for _ in d:
            time.sleep(0.02)
        return time.perf_counter() - t
    plain = consume(ds)
    produced.clear()
    it = iter(ds.prefetch(3))
    next(it)
    time.sleep(0.2)
    assert len(produced) >= 3  # the producer ran ahead while the consumer slept
    del it
    pre = consume(ds.prefetch(tf.data.AUTOTUNE))
    assert pre < 0.8 * plain, (pre, plain)  # ideal: ~0.22 s vs ~0.4 s


def test_prefetch_reraises_producer_errors_and_leaks_no_thread():
    def gen():
        yield 1
        raise KeyError("producer failed")
    with pytest.raises(KeyError, match="producer failed"):
        list(Dataset.from_generator(gen, output_signature=TensorSpec((), tf.int32)).prefetch(2))
    before = threading.active_count()
    for _ in range(5):
        for i, _x in enumerate(Dataset.range(10_000).map(lambda x: x, num_parallel_calls=2).prefetch(4)):
            if i == 3:
                break
    deadline = time.time() + 5
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.02)
    assert threading.active_count() <= before


# -- cache --------------------------------------------------------------------------------------------------
def _counting_pipeline(calls, cache_arg):
    def f(x):
        calls.append(int(x))
        return x * 2, tf.cast(x, tf.float32)
    return Dataset.range(6).map(f).cache(cache_arg)


def test_cache_in_memory_skips_the_map_on_later_passes():
    calls = []
    ds = _counting_pipeline(calls, "")
    first = [int(a) for a, _ in ds]
    calls.clear()
    it = iter(ds)
    next(it)
    del it  # a partial pass after the full one still replays
    assert [int(a) for a, _ in ds] == first == [0, 2, 4, 6, 8, 10] and calls == []
    calls2 = []
    partial = _counting_pipeline(calls2, "")
    for i, _ in enumerate(partial):
        if i == 2:
            break
    calls2.clear()
    list(partial)  # an interrupted first pass is not kept
    assert calls2 == [0, 1, 2, 3, 4, 5]


def test_cache_to_file_is_npz_without_pickle_and_is_reused(tmp_path):
    calls = []
    path = str(tmp_path / "cache" / "train")
    ds = _counting_pipeline(calls, path)
    first = list(ds.as_numpy_iterator())
    assert os.path.exists(path + ".npz")
    assert [n for n in os.listdir(tmp_path / "cache")] == ["train.npz"]  # no temp file left behind
    with zipfile.ZipFile(path + ".npz") as z:
        assert all(n.endswith(".npy") for n in z.namelist())
    with np.load(path + ".npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    calls.clear()
    again = _counting_pipeline(calls, path)  # a new pipeline (e.g. the next run) reads the file
    second = list(again.as_numpy_iterator())
    assert calls == [] and all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
                               for a, b in zip(first, second))
    other = Dataset.range(3).cache(path)
    with pytest.raises(ValueError, match="train.npz"):
        list(other)


def test_cache_then_shuffle_batches_in_bulk_after_first_pass():
    ds = Dataset.range(100).map(lambda x: x).cache().shuffle(100, seed=1).batch(10)
    e1 = np.concatenate(list(ds.as_numpy_iterator()))
    e2 = np.concatenate(list(ds.as_numpy_iterator()))
    assert sorted(e1.tolist()) == sorted(e2.tolist()) == list(range(100)) and not np.array_equal(e1, e2)


# -- the spec's pipeline ------------------------------------------------------------------------------------
def test_spec_pipeline_end_to_end():
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (300, 28, 28, 1), dtype=np.uint8)
    y_train = rng.integers(0, 10, 300)

    def load_and_preprocess(x, y):
        x = tf.cast(x, tf.float32) / 255.0
        x = tf.image.random_flip_left_right(x)
        return x, y
    train_ds = (Dataset.from_tensor_slices((x_train, y_train)).shuffle(buffer_size=10_000, seed=42)
                .map(load_and_preprocess, num_parallel_calls=tf.data.AUTOTUNE).batch(64)
                .prefetch(tf.data.AUTOTUNE))
    batches = list(train_ds)
    assert [b[0].shape.as_list() for b in batches][-2:] == [[64, 28, 28, 1], [44, 28, 28, 1]]
    xs = np.concatenate([b[0].numpy() for b in batches])
    assert xs.dtype == np.float32 and 0.0 <= xs.min() and xs.max() <= 1.0
    assert sorted(np.concatenate([b[1].numpy() for b in batches]).tolist()) == sorted(y_train.tolist())
    assert len(train_ds) == 5 and hasattr(train_ds, "element_spec")


def test_keras_adapter_consumes_a_dataset():
    from tapeflow.keras import data_adapter
    ds = Dataset.from_tensor_slices((np.zeros((10, 3), np.float32), np.arange(10))).batch(4).prefetch(2)
    adapter = data_adapter.get_adapter(ds)
    assert adapter.num_batches() == 3
    for _ in range(2):  # two epochs
        batches = list(adapter.epoch())
        assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
