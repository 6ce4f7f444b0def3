"""A hand-written GradientTape loop: tf.function, keras metrics, a layer using add_loss."""
import numpy as np

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers


class ActivityPenalty(layers.Layer):
    """Passes its input through and adds an L2 activity penalty with add_loss."""

    def __init__(self, rate=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * tf.reduce_mean(tf.square(inputs)))
        return inputs


def main(steps=40, n=2048, batch_size=64):
    (x_train, y_train), _ = keras.datasets.fashion_mnist.load_data()
    x = x_train[:n].reshape(-1, 784).astype("float32") / 255.0
    y = y_train[:n].astype("int64")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1024, seed=0).batch(batch_size)

    inputs = keras.Input(shape=(784,))
    h = layers.Dense(64, activation="relu")(inputs)
    h = ActivityPenalty()(h)
    outputs = layers.Dense(10)(h)
    model = keras.Model(inputs, outputs)

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    train_acc = keras.metrics.SparseCategoricalAccuracy()
    loss_metric = keras.metrics.Mean()

    @tf.function
    def train_step(xb, yb):
        with tf.GradientTape() as tape:
            logits = model(xb, training=True)
            loss = loss_fn(yb, logits)
            loss += sum(model.losses)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        train_acc.update_state(yb, logits)
        return loss

    losses, step = [], 0
    while step < steps:
        for xb, yb in dataset:
            loss = train_step(xb, yb)
            loss_metric.update_state(loss)
            losses.append(float(loss))
            step += 1
            if step >= steps:
                break
        print(f"mean loss {float(loss_metric.result()):.4f}  accuracy {float(train_acc.result()):.4f}")
        loss_metric.reset_state()
        train_acc.reset_state()
    assert len(model.losses) == 1
    k = max(1, len(losses) // 4)
    return [float(np.mean(losses[:k])), float(np.mean(losses[-k:]))]


if __name__ == "__main__":
    main()
