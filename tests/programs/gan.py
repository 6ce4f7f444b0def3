"""A small GAN on Fashion-MNIST with an overridden compile() (two optimizers) and train_step()."""
import numpy as np

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers, ops

LATENT = 16


class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, real_images):
        if isinstance(real_images, tuple):
            real_images = real_images[0]
        batch_size = ops.shape(real_images)[0]
        z = keras.random.normal(shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        generated = self.generator(z)
        combined = ops.concatenate([generated, real_images], axis=0)
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * keras.random.uniform(ops.shape(labels), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        z = keras.random.normal(shape=(batch_size, self.latent_dim), seed=self.seed_generator)
        misleading = ops.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(misleading, self.discriminator(self.generator(z)))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}


def main(steps=20, n=1024, batch_size=64):
    (x_train, _), _ = keras.datasets.fashion_mnist.load_data()
    x = x_train[:n].reshape(-1, 784).astype("float32") / 255.0
    discriminator = keras.Sequential([keras.Input((784,)), layers.Dense(128), layers.LeakyReLU(0.2),
                                      layers.Dense(1)], name="discriminator")
    generator = keras.Sequential([keras.Input((LATENT,)), layers.Dense(128), layers.LeakyReLU(0.2),
                                  layers.Dense(784, activation="sigmoid")], name="generator")
    gan = GAN(discriminator, generator, LATENT)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate=3e-4),
                g_optimizer=keras.optimizers.Adam(learning_rate=3e-4),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    epochs = max(2, steps * batch_size // n)
    history = gan.fit(x, batch_size=batch_size, epochs=epochs, verbose=0)
    print({k: [round(v, 4) for v in vals] for k, vals in history.history.items()})
    # the discriminator learns to tell real from fake: its loss falls below chance level (log 2)
    return history.history["d_loss"]


if __name__ == "__main__":
    main()
