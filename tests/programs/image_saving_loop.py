"""Train a small generator-like autoencoder and save generated images each epoch with array_to_img."""
import os
import tempfile

import numpy as np

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers


class SaveSamples(keras.callbacks.Callback):
    """At each epoch's end, decode a fixed batch and write it as PNG files."""

    def __init__(self, decoder, codes, out_dir):
        super().__init__()
        self.decoder, self.codes, self.out_dir = decoder, codes, out_dir
        self.saved = []

    def on_epoch_end(self, epoch, logs=None):
        images = self.decoder(self.codes).numpy() * 255.0
        for i, img in enumerate(images):
            pil = keras.utils.array_to_img(img)
            path = os.path.join(self.out_dir, f"generated_img_{epoch:03d}_{i}.png")
            pil.save(path)
            self.saved.append(path)


def main(steps=20, n=1024, batch_size=64, out_dir=None):
    (x_train, _), _ = keras.datasets.fashion_mnist.load_data()
    x = np.expand_dims(x_train[:n].astype("float32") / 255.0, -1)
    encoder = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(32, activation="relu")])
    decoder = keras.Sequential([keras.Input((32,)), layers.Dense(784, activation="sigmoid"),
                                layers.Reshape((28, 28, 1))])
    inputs = keras.Input((28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    out_dir = out_dir or tempfile.mkdtemp(prefix="tapeflow_samples_")
    codes = encoder(x[:3])
    saver = SaveSamples(decoder, codes, out_dir)
    epochs = max(2, steps * batch_size // n)
    history = autoencoder.fit(x, x, batch_size=batch_size, epochs=epochs, callbacks=[saver], verbose=0)
    assert len(saver.saved) == 3 * epochs and all(os.path.getsize(p) > 0 for p in saver.saved)
    back = keras.utils.img_to_array(keras.utils.load_img(saver.saved[-1], color_mode="grayscale"))
    assert back.shape == (28, 28, 1)
    print("losses:", [round(v, 4) for v in history.history["loss"]], "saved", len(saver.saved), "images")
    return history.history["loss"]


if __name__ == "__main__":
    main()
