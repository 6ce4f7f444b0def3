"""keras.backend dtype helpers and keras.utils names; expected values printed by Keras 3.15.1 (TensorFlow backend)."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

K = keras.backend

# (dtype, is_float_dtype, is_int_dtype, standardize_dtype) as Keras 3.15.1 returns them
TABLE = [("float16", True, False, "float16"), ("float32", True, False, "float32"),
         ("bfloat16", True, False, "bfloat16"), ("float64", True, False, "float64"),
         ("int8", False, True, "int8"), ("int32", False, True, "int32"), ("int64", False, True, "int64"),
         ("uint8", False, True, "uint8"), ("uint32", False, True, "uint32"), ("bool", False, False, "bool"),
         ("string", False, False, "string"), ("complex64", False, False, "complex64"),
         (np.float32, True, False, "float32"), (np.dtype("int16"), False, True, "int16"),
         (float, True, False, "float32"), (int, False, True, "int64"), (bool, False, False, "bool"),
         ("int", False, True, "int64")]


@pytest.mark.parametrize("dtype,is_float,is_int,name", TABLE)
def test_dtype_predicates_and_standardize_as_keras(dtype, is_float, is_int, name):
    assert K.is_float_dtype(dtype) is is_float
    assert K.is_int_dtype(dtype) is is_int
    assert K.standardize_dtype(dtype) == name
    assert keras.utils.standardize_dtype(dtype) == name


def test_standardize_dtype_tapeflow_dtypes_and_errors():
    assert K.standardize_dtype(None) == "float32"
    assert K.standardize_dtype(tf.float16) == "float16" and K.standardize_dtype(tf.int64) == "int64"
    assert K.standardize_dtype(tf.string) == "string"
    for bad in ("float", "double", "half"):  # Keras: ValueError("Invalid dtype: ...")
        with pytest.raises(ValueError, match=f"Invalid dtype: {bad}"):
            K.standardize_dtype(bad)
        with pytest.raises(ValueError, match="Invalid dtype"):
            K.is_float_dtype(bad)


RESULT_TYPE = [(("float32", "int32"), "float32"), (("int8", "uint8"), "int16"), (("float16", "float32"), "float32"),
               (("int32", "int64"), "int64"), (("bool", "int8"), "int8"), (("int64", "float16"), "float16"),
               (("uint8", "int16"), "int16"), (("float64",), "float64"), (("int32", float), "float32"),
               (("int32", int), "int32"), (("float16", float), "float16"), (("bool", bool), "bool"), ((), "float32"),
               (("bfloat16", "float16"), "float32"), (("uint32", "int32"), "int64"), (("uint16", "int8"), "int32"),
               (("int8", "uint64"), "float32"), (("uint64", "int64"), "float32"), ((int,), "int32"),
               ((float,), "float32"), ((int, float), "float32"), ((bool, int), "int32"),
               (("complex64", int), "complex64"), (("float16", int), "float16"), ((None,), "float32"),
               ((None, "int8"), "float32"), (("float64", "complex64"), "complex64"), (("int8", "int8", int), "int8"),
               (("bfloat16", int), "bfloat16"), (("uint8", int), "uint8"), (("uint8", float), "float32"),
               (("bool", float), "float32"), (("int64", int), "int64"), (("float64", float), "float64"),
               (("complex128",), "complex64"), ((float, "uint16"), "float32"), (("string",), "string")]


@pytest.mark.parametrize("dtypes,expected", RESULT_TYPE)
def test_result_type_as_keras(dtypes, expected):
    assert K.result_type(*dtypes) == expected


def test_result_type_errors_as_keras():
    with pytest.raises(ValueError, match="'string' is not a valid dtype for Keras type promotion"):
        K.result_type("string", "int32")
    with pytest.raises(ValueError, match="no implicit conversions from float8"):
        K.result_type("float8_e4m3fn", "float32")


def test_is_keras_tensor_and_source_inputs():
    x = keras.Input((3,))
    assert K.is_keras_tensor(x) and keras.utils.is_keras_tensor(x)
    assert not K.is_keras_tensor(np.zeros(3)) and not K.is_keras_tensor(tf.ones(3))  # Keras: False, False
    a, b = keras.Input((3,)), keras.Input((3,))
    y = keras.layers.Dense(2)(keras.layers.Add()([a, b]))
    z = keras.layers.Concatenate()([y, keras.layers.Dense(2)(a)])
    src = keras.utils.get_source_inputs(z)
    assert len(src) == 2 and src[0] is a and src[1] is b
    assert keras.utils.get_source_inputs(x)[0] is x


def test_custom_object_scope_and_registered_names():
    assert keras.utils.custom_object_scope is keras.utils.CustomObjectScope

    def my_act(v):
        return v

    class Scaled(keras.layers.Layer):
        def call(self, v):
            return 2 * v

    with pytest.raises(ValueError, match="Scaled"):
        keras.layers.deserialize({"class_name": "Scaled", "config": {"name": "s"}})
    with keras.utils.custom_object_scope({"my_act": my_act, "Scaled": Scaled}):
        assert keras.utils.get_registered_object("my_act") is my_act
        layer = keras.layers.deserialize({"class_name": "Scaled", "config": {"name": "s"}})
        assert type(layer) is Scaled and layer.name == "s"
        with keras.utils.CustomObjectScope({"other": len}):  # the inner scope replaces the outer (Keras)
            assert keras.utils.get_registered_object("my_act") is None
        assert keras.utils.get_registered_object("my_act") is my_act
    assert keras.utils.get_registered_object("my_act") is None
    assert keras.utils.get_registered_name(keras.layers.Dense) == "Dense"

    @keras.saving.register_keras_serializable(package="names_test")
    def twice(v):
        return 2 * v
    assert keras.utils.get_registered_name(twice) == "names_test>twice"
    assert keras.utils.get_registered_object("names_test>twice") is twice


def test_clear_session_resets_names():
    keras.utils.clear_session()
    assert keras.layers.Dense(1).name == "dense"
    assert keras.layers.Dense(1).name == "dense_1"
    keras.utils.clear_session()
    assert keras.layers.Dense(1).name == "dense"


def test_activations_see_custom_object_scope():
    from tapeflow import keras

    def my_act(x):
        return x * 2.0
    with keras.utils.custom_object_scope({"my_act": my_act}):
        assert keras.activations.get("my_act") is my_act
    import pytest
    with pytest.raises(ValueError, match="Unknown activation function"):
        keras.activations.get("my_act")
