"""Structured data classification as the Keras tutorial writes it: a dict-of-columns Dataset, one Input per
column (int64, string, float), Normalization / StringLookup / IntegerLookup adapted on the Dataset,
concatenated one-hot and normalized features, and a small classifier (synthetic heart-disease-like table)."""
import numpy as np

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers


def make_table(n, seed=0):
    rng = np.random.default_rng(seed)
    table = {"age": rng.integers(29, 78, n).astype("int64"), "sex": rng.integers(0, 2, n).astype("int64"),
             "thal": rng.choice(["fixed", "normal", "reversible"], n), "chol": rng.normal(240, 45, n).astype("float32")}
    logit = 0.06 * (table["age"] - 53) + 0.02 * (table["chol"] - 240) + 1.5 * (table["thal"] == "reversible") - 0.5
    return table, (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype("int64")


def encode_numerical(feature, name, dataset):
    normalizer = layers.Normalization()
    normalizer.adapt(dataset.map(lambda x, y: x[name]).map(lambda x: tf.expand_dims(x, -1)))
    return normalizer(feature)


def encode_categorical(feature, name, dataset, is_string):
    lookup = (layers.StringLookup if is_string else layers.IntegerLookup)(output_mode="one_hot")
    lookup.adapt(dataset.map(lambda x, y: x[name]).map(lambda x: tf.expand_dims(x, -1)))
    return lookup(feature)


def main(steps=40, n=512, batch_size=32, seed=0):
    keras.utils.set_random_seed(seed)
    table, target = make_table(n, seed)
    train_ds = tf.data.Dataset.from_tensor_slices((dict(table), target)).shuffle(n, seed=1).batch(batch_size)
    age = keras.Input(shape=(1,), name="age", dtype="int64")
    sex = keras.Input(shape=(1,), name="sex", dtype="int64")
    thal = keras.Input(shape=(1,), name="thal", dtype="string")
    chol = keras.Input(shape=(1,), name="chol")
    features = layers.concatenate([encode_categorical(sex, "sex", train_ds, False),
                                   encode_categorical(thal, "thal", train_ds, True),
                                   encode_numerical(age, "age", train_ds), encode_numerical(chol, "chol", train_ds)])
    x = layers.Dropout(0.2)(layers.Dense(32, activation="relu")(features))
    model = keras.Model([age, sex, thal, chol], layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    epochs = max(2, steps * batch_size // n)
    history = model.fit(train_ds, epochs=epochs, validation_data=train_ds, verbose=0)
    sample = {"age": np.array([[60]]), "sex": np.array([[1]]), "thal": np.array([["reversible"]]),
              "chol": np.array([[300.0]])}
    risk = float(model.predict(sample, verbose=0)[0, 0])
    assert 0.0 <= risk <= 1.0
    print("losses:", [round(v, 4) for v in history.history["loss"]], "risk of the sample:", round(risk, 3))
    return history.history["loss"]


if __name__ == "__main__":
    main()
