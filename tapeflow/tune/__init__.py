"""Hyperparameter search on Optuna (``pip install 'tapeflow[tune]'``).

The spec: "treat activations like learning rates -- tune them". A search space maps names to
distributions; ``search`` runs an Optuna study over it, pruning hopeless trials through an epoch
callback, optionally in several processes that share an SQLite file, which is also what lets a
search resume. ``import tapeflow`` does not import Optuna; these functions import it when called.

>>> import numpy as np, optuna, tapeflow as tf
>>> optuna.logging.set_verbosity(optuna.logging.WARNING)
>>> space = tf.tune.SearchSpace({"activation": tf.tune.Categorical(["relu", "elu", "swish"]),
...                              "learning_rate": tf.tune.LogUniform(1e-3, 1e-1),
...                              "units": tf.tune.IntRange(4, 16)})
>>> def build(c):
...     m = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(c["units"], activation=c["activation"]),
...                              tf.keras.layers.Dense(2, activation="softmax")])
...     m.compile(tf.keras.optimizers.Adam(c["learning_rate"]), "sparse_categorical_crossentropy",
...               metrics=["accuracy"])
...     return m
>>> x = np.random.default_rng(0).normal(size=(128, 4)).astype("float32"); y = (x[:, 0] > 0).astype("int64")
>>> objective = tf.tune.FitObjective(build, x, y, validation_split=0.25, epochs=2, batch_size=32)
>>> study = tf.tune.search(objective, space, n_trials=3, seed=0)
>>> len(study.trials)
3
"""
from .pruning import FitObjective, PruningCallback, monitor_direction  # noqa: F401
from .report import best_summary, trial_config, trials_table, write_plots  # noqa: F401
from .search import make_storage, search  # noqa: F401
from .space import Categorical, Distribution, IntRange, LogUniform, SearchSpace, Uniform, as_space  # noqa: F401

__all__ = ["SearchSpace", "Distribution", "Categorical", "Uniform", "LogUniform", "IntRange", "as_space",
           "PruningCallback", "FitObjective", "monitor_direction", "search", "make_storage", "trials_table",
           "best_summary", "trial_config", "write_plots"]
