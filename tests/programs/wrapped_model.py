"""tf.keras 2 style: a Model that wraps (and trains) another Model through compiled_loss/metrics."""
import numpy as np

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers


class Trainer(keras.Model):
    """Trains ``self.model`` with label smoothing done by hand; reports compiled loss and metrics."""

    def __init__(self, model, smoothing=0.05):
        super().__init__()
        self.model = model
        self.smoothing = smoothing

    def call(self, inputs, training=False):
        return self.model(inputs, training=training)

    def train_step(self, data):
        x, y = data
        y = y * (1.0 - self.smoothing) + self.smoothing / 10.0
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        trainable_vars = self.model.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def main(steps=20, n=2048, batch_size=64):
    (x_train, y_train), _ = keras.datasets.fashion_mnist.load_data()
    x = x_train[:n].reshape(-1, 784).astype("float32") / 255.0
    y = keras.utils.to_categorical(y_train[:n], 10)
    inner = keras.Sequential([keras.Input((784,)),
                              layers.Dense(64, activation="relu", kernel_regularizer=keras.regularizers.l2(1e-4)),
                              layers.Dense(10, activation="softmax")])
    trainer = Trainer(inner)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy",
                    metrics=["categorical_accuracy"])
    epochs = max(2, steps * batch_size // n)
    history = trainer.fit(x, y, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=0)
    print({k: [round(v, 4) for v in vals] for k, vals in history.history.items()})
    assert "val_loss" in history.history and "categorical_accuracy" in history.history
    assert inner.predict(x[:4], verbose=0).shape == (4, 10)
    return history.history["loss"]


if __name__ == "__main__":
    main()
