"""Keras 3's top-level names, keras.tree, keras.dtype_policies, keras.Variable, keras.utils.Config and the
interactive-logging switch. Expected values are what Keras 3.15.1 printed for the same calls."""
import collections
import json
import logging

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import tree

K = tf.keras


def test_top_level_aliases_are_the_submodule_classes():
    assert K.Loss is K.losses.Loss and K.Metric is K.metrics.Metric and K.Optimizer is K.optimizers.Optimizer
    assert K.Initializer is K.initializers.Initializer and K.Regularizer is K.regularizers.Regularizer
    assert K.DTypePolicy is K.mixed_precision.DTypePolicy and K.name_scope is tf.name_scope
    assert K.device is tf.device and K.remat is tf.recompute_grad
    assert K.version() == K.__version__ == "3.15.1"
    assert isinstance(K.Input((2,)), K.KerasTensor)
    assert not hasattr(K, "no_such_name")
    assert {"Loss", "Variable", "tree", "version"} <= set(dir(K))


def test_subclassing_the_top_level_loss_works_in_fit():
    class Halved(K.Loss):
        def call(self, y_true, y_pred):
            return 0.5 * K.ops.mean(K.ops.square(y_true - y_pred), axis=-1)

    model = K.Sequential([K.Input((2,)), K.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer="sgd", loss=Halved())
    h = model.fit(np.ones((4, 2)), np.full((4, 1), 2.0), epochs=1, verbose=0, batch_size=4)
    assert h.history["loss"][0] == pytest.approx(2.0)   # 0.5 * (2 - 0)^2


def test_keras_variable_constructor():
    v = K.Variable([1.0, 2.0])
    assert (v.dtype, v.name, v.trainable) == ("float32", "variable", True)
    assert isinstance(v, tf.Variable)
    np.testing.assert_array_equal(K.Variable("ones", shape=(2,)).numpy(), [1.0, 1.0])
    w = K.Variable(K.initializers.Constant(3.0), shape=(2,), dtype="float64", name="w")
    assert (w.numpy().tolist(), w.dtype, w.name) == ([3.0, 3.0], "float64", "w")
    with pytest.raises(ValueError, match="the `shape` argument should be specified"):
        K.Variable("ones")
    with pytest.raises(ValueError, match="cannot contain character `/`"):
        K.Variable(1.0, name="a/b")
    with pytest.raises(ValueError, match="shape=\\(3,\\) was given"):
        K.Variable([1.0, 2.0], shape=(3,))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(v * v)
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [2.0, 4.0])


def test_tree_matches_keras():
    s = {"b": [1, (2, None)], "a": 3}
    assert tree.flatten(s) == [3, 1, 2, None] and tree.flatten([1, None, (2,)]) == [1, None, 2]
    assert tree.flatten_with_path(s) == [(("a",), 3), (("b", 0), 1), (("b", 1, 0), 2), (("b", 1, 1), None)]
    assert (tree.is_nested(None), tree.is_nested([]), tree.is_nested(1)) == (False, True, False)
    assert tree.lists_to_tuples([1, [2, {"x": [3]}]]) == (1, (2, {"x": (3,)}))
    assert tree.map_shape_structure(lambda x: ("S", x), {"a": (2, 3), "b": [(4,), (None, 5)]}) == \
        {"a": ("S", (2, 3)), "b": [("S", (4,)), ("S", (None, 5))]}
    seen = []
    assert tree.traverse(lambda x: seen.append(x), [1, (2, 3)]) == [1, (2, 3)]
    assert seen == [[1, (2, 3)], 1, (2, 3), 2, 3]
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, (2, 3)]) == [1, (None, 3)]
    assert tree.traverse(lambda x: "changed" if isinstance(x, tuple) else None, [1, (2, 3)], top_down=False) == \
        [1, "changed"]
    assert tree.traverse(lambda x: x * 10 if isinstance(x, int) else None, [1, (2, 3)], top_down=False) == \
        [10, (20, 30)]
    with pytest.raises(ValueError, match=r"Paths in `a` missing in `b`:\n\{\('a',\)\}"):
        tree.assert_same_paths({"a": 1, "b": 2}, {"a": [1], "b": 3})
    assert tree.pack_sequence_as({"b": [0, 0], "a": 0}, [1, 2, 3]) == {"b": [2, 3], "a": 1}
    P = collections.namedtuple("P", "x y")
    assert tree.map_structure(lambda v: v * 2, P(1, [2])) == P(2, [4])


def test_dtype_policies():
    D = K.dtype_policies
    p = D.get("mixed_float16")
    assert D.serialize(p) == {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"},
                              "registered_name": None}
    assert D.deserialize(D.serialize(p)) == p and D.get(p) is p
    assert D.get({"class_name": "DTypePolicy", "config": {"name": "float16"}}).name == "float16"
    assert D.get(None).name == "float32"
    with pytest.raises(ValueError, match="Cannot convert 'bogus' to a mixed precision DTypePolicy"):
        D.get("bogus")


def test_config():
    c = K.utils.Config(learning_rate=0.1, momentum=0.9)
    c.use_ema = True
    c["seed"] = 1
    assert repr(c) == "<Config {'learning_rate': 0.1, 'momentum': 0.9, 'use_ema': True, 'seed': 1}>"
    assert json.loads(c.to_json()) == c.as_dict() == dict(c.items())
    c.freeze()
    for mutate in (lambda: setattr(c, "x", 1), lambda: c.__setitem__("x", 1), lambda: c.pop("seed")):
        with pytest.raises(ValueError, match="config is frozen"):
            mutate()
    with pytest.raises(AttributeError, match="Unknown attribute: 'missing'"):
        c.missing
    with pytest.raises(KeyError):
        c["missing"]
    assert (c.frozen, len(c), "seed" in c) == (True, 4, True)
    c.unfreeze()
    c.x = 2
    assert c.pop("x") == 2 and "x" not in c


def test_saving_exports_the_custom_object_scope():
    assert K.saving.custom_object_scope is K.utils.custom_object_scope
    assert K.saving.CustomObjectScope is K.utils.CustomObjectScope


def test_disabling_interactive_logging_sends_fit_lines_to_logging(capsys, caplog):
    model = K.Sequential([K.Input((2,)), K.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    K.utils.disable_interactive_logging()
    try:
        assert not K.utils.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="tapeflow"):
            model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, verbose=1, batch_size=4)
    finally:
        K.utils.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    lines = [r.getMessage() for r in caplog.records if r.name == "tapeflow"]
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and lines[1].startswith("2/2 ") and "loss:" in lines[1]
    model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=1, verbose=1, batch_size=4)
    assert capsys.readouterr().out.startswith("Epoch 1/1\n")
