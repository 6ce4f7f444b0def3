"""The classic Keras CNN example on Fashion-MNIST: to_categorical, Conv2D/MaxPooling2D, validation_split."""
import numpy as np

from tapeflow import keras
from tapeflow.keras import layers

NUM_CLASSES = 10


def main(steps=20, n=1280, batch_size=64):
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    x_train = np.expand_dims(x_train[:n].astype("float32") / 255, -1)
    x_test = np.expand_dims(x_test[:256].astype("float32") / 255, -1)
    y_train = keras.utils.to_categorical(y_train[:n], NUM_CLASSES)
    y_test = keras.utils.to_categorical(y_test[:256], NUM_CLASSES)

    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    epochs = max(2, -(-steps * batch_size // int(n * 0.9)))
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=0)
    score = model.evaluate(x_test, y_test, verbose=0)
    print("losses:", [round(v, 4) for v in history.history["loss"]], "val:",
          [round(v, 4) for v in history.history["val_loss"]], "test:", score)
    return history.history["loss"]


if __name__ == "__main__":
    main()
