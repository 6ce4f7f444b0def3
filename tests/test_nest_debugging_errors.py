"""tf.nest, tf.debugging and tf.errors: TensorFlow's structure order, assertion semantics and exception classes."""
import collections

import numpy as np
import pytest

import tapeflow as tf


def test_nest_follows_tensorflow():
    Point = collections.namedtuple("Point", "x y")
    s = {"b": [1, Point(2, 3)], "a": (4, None)}
    assert tf.nest.flatten(s) == [4, None, 1, 2, 3]           # dict values by sorted key; None is a leaf
    again = tf.nest.pack_sequence_as(s, [40, 0, 10, 20, 30])
    assert again == {"b": [10, Point(20, 30)], "a": (40, 0)} and list(again) == ["b", "a"]
    doubled = tf.nest.map_structure(lambda v: v * 2, {"k": (1, [2, 3])})
    assert doubled == {"k": (2, [4, 6])}
    assert tf.nest.is_nested([1]) and not tf.nest.is_nested(np.zeros(3))
    with pytest.raises(ValueError, match="same number of elements"):
        tf.nest.assert_same_structure([1, 2], [1, 2, 3])
    with pytest.raises(TypeError, match="same sequence type"):
        tf.nest.assert_same_structure([1, 2], (1, 2))
    tf.nest.assert_same_structure([1, 2], (1, 2), check_types=False)
    with pytest.raises(ValueError, match="has 3 leaves but flat_sequence has 2"):
        tf.nest.pack_sequence_as([1, [2, 3]], [1, 2])
    assert tf.nest.map_structure_up_to((None, None), lambda a: len(a), ([1, 2], [3])) == (2, 1)


def test_debugging_assertions():
    tf.debugging.assert_equal(tf.constant([1, 2]), np.array([1, 2]))
    tf.debugging.assert_less(tf.constant([1.0]), 2.0)
    tf.debugging.assert_shapes([(np.zeros((2, 3)), ("N", "D")), (np.zeros((2,)), ("N",))])
    for call, pattern in [
            (lambda: tf.debugging.assert_equal([1, 2], [1, 3]), "x == y did not hold"),
            (lambda: tf.debugging.assert_non_negative([0.0, -1.0]), ">= 0 did not hold"),
            (lambda: tf.debugging.assert_near([1.0], [1.1]), "not equal to tolerance"),
            (lambda: tf.debugging.assert_rank(np.zeros((2, 2)), 1), "must have rank 1"),
            (lambda: tf.debugging.assert_shapes([(np.zeros((2, 3)), ("N", "D")), (np.zeros(4), ("N",))]),
             "Dimension 'N' is 2 elsewhere but 4"),
            (lambda: tf.debugging.check_numerics(tf.constant([1.0, np.nan]), "after layer 3"),
             "after layer 3 : Tensor had NaN values")]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=pattern):
            call()
    with pytest.raises(TypeError, match="Expected an integer tensor"):
        tf.debugging.assert_integer(tf.constant([1.0]))


def test_check_numerics_switch_names_the_op():
    tf.debugging.enable_check_numerics()
    try:
        with pytest.raises(FloatingPointError, match="log"):
            tf.math.log(tf.constant([-1.0]))
    finally:
        tf.debugging.disable_check_numerics()
    assert np.isnan(tf.math.log(tf.constant([-1.0])).numpy()[0])


def test_errors_are_tensorflow_and_python_exceptions():
    e = tf.errors.InvalidArgumentError(None, None, "bad")
    assert isinstance(e, ValueError) and isinstance(e, tf.errors.OpError) and e.message == "bad"
    assert e.error_code == tf.errors.INVALID_ARGUMENT == 3
    assert issubclass(tf.errors.OutOfRangeError, IndexError) and issubclass(tf.errors.NotFoundError, FileNotFoundError)
