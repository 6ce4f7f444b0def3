"""A Fashion-MNIST classifier built from a custom layer with its own build() and get_config()."""
import numpy as np

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers


class ScaledDense(layers.Layer):
    """Dense with a learned per-unit output scale."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                 trainable=True, name="kernel")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True, name="bias")
        self.scale = self.add_weight(shape=(self.units,), initializer="ones", trainable=True, name="scale")

    def call(self, inputs):
        return self.activation((tf.matmul(inputs, self.w) + self.b) * self.scale)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "activation": keras.activations.serialize(self.activation)})
        return config


def main(steps=20, n=2048, batch_size=64):
    (x_train, y_train), _ = keras.datasets.fashion_mnist.load_data()
    x_train = x_train[:n].reshape(-1, 784).astype("float32") / 255.0
    y_train = y_train[:n]
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        ScaledDense(64, activation="relu"),
        ScaledDense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    epochs = max(1, steps * batch_size // n)
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs + 1, verbose=0,
                        steps_per_epoch=None)
    clone = ScaledDense.from_config(model.layers[0].get_config())
    assert clone.units == 64
    print("losses:", [round(v, 4) for v in history.history["loss"]])
    return history.history["loss"]


if __name__ == "__main__":
    main()
