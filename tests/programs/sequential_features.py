"""A Sequential model built with add(), trained, then used as a feature extractor."""
import numpy as np

from tapeflow import keras
from tapeflow.keras import layers


def main(steps=20, n=2048, batch_size=64):
    (x_train, y_train), _ = keras.datasets.fashion_mnist.load_data()
    x = x_train[:n].reshape(-1, 784).astype("float32") / 255.0
    y = y_train[:n]

    model = keras.Sequential()
    model.add(keras.Input(shape=(784,)))
    model.add(layers.Dense(64, activation="relu", name="hidden_1"))
    model.add(layers.Dense(32, activation="relu", name="hidden_2"))
    model.add(layers.Dense(10, activation="softmax", name="predictions"))
    model.summary(print_fn=lambda *a, **k: None)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    epochs = max(2, steps * batch_size // n)
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)

    feature_extractor = keras.Model(inputs=model.inputs,
                                    outputs=[layer.output for layer in model.layers])
    features = feature_extractor(x[:8])
    assert [tuple(f.shape) for f in features] == [(8, 64), (8, 32), (8, 10)]
    embedder = keras.Model(inputs=model.inputs, outputs=model.get_layer(name="hidden_2").output)
    emb = embedder.predict(x[:8], verbose=0)
    np.testing.assert_allclose(emb, features[1].numpy(), rtol=1e-5, atol=1e-6)
    print("losses:", [round(v, 4) for v in history.history["loss"]], "embedding", emb.shape)
    return history.history["loss"]


if __name__ == "__main__":
    main()
