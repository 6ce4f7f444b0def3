"""``tapeflow train|evaluate|predict``: flags, run directory, artifacts; one real 1-epoch Fashion-MNIST run."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tapeflow.cli.main import main


def _check_run_dir(out, has_plots, epochs):
    for f in ("model.keras", "history.csv", "history.json", "summary.json", "confusion_matrix.csv"):
        assert (out / f).is_file(), f
    events = [f for _, _, fs in os.walk(out / "logs") for f in fs if f.startswith("events.out.tfevents")]
    assert events, "no TensorBoard event file"
    hist = json.loads((out / "history.json").read_text())
    assert len(hist["loss"]) == epochs and len(hist["val_accuracy"]) == epochs
    with open(out / "history.csv") as f:
        assert len(list(csv.DictReader(f))) == epochs
    summary = json.loads((out / "summary.json").read_text())
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and np.isfinite(summary["test_loss"])
    if has_plots:
        for p in ("curves.png", "weight_histograms.png", "gradient_norms.png", "confusion_matrix.png"):
            assert (out / p).stat().st_size > 1000, p
    return summary


def test_train_full_fashion_mnist_one_epoch(require_dataset, has_plots, tmp_path, capsys):
    """The README's main job: default MLP, full 60k Fashion-MNIST, 1 epoch, >= 0.80 test accuracy."""
    import tapeflow as tf
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), "--verbose", "0"]) == 0
    summary = _check_run_dir(out, has_plots, 1)
    assert summary["test_accuracy"] >= 0.80
    assert summary["n_train"] == 60000 and summary["settings"]["model"] == "mlp3"
    model = tf.keras.models.load_model(str(out / "model.keras"))
    (_, _), (xt, yt) = tf.keras.datasets.fashion_mnist.load_data()
    pred = np.asarray(model.predict(xt[:500].reshape(-1, 784).astype("float32") / 255, verbose=0)).argmax(-1)
    assert np.mean(pred == yt[:500]) >= 0.75
    # evaluate and predict on the same run
    capsys.readouterr()
    assert main(["evaluate", str(out), "--limit", "2000"]) == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["n_test"] == 2000 and ev["test_accuracy"] >= 0.75
    np.save(tmp_path / "imgs.npy", xt[:5])
    assert main(["predict", str(out / "model.keras"), str(tmp_path / "imgs.npy"), "--top-k", "3"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert len(lines) == 5 and all(ln.count("(") == 3 for ln in lines)


@pytest.mark.parametrize("model,extra", [("cnn", ["--schedule", "one-cycle", "--dropout", "0.2"]),
                                         ("lstm", ["--optimizer", "sgd", "--schedule", "cosine"]),
                                         ("mlp", ["--activation", "prelu", "--l2", "1e-4", "--schedule", "cyclical"])])
def test_train_other_models_small(require_dataset, has_plots, tmp_path, model, extra):
    out = tmp_path / model
    assert main(["train", "--model", model, "--epochs", "2", "--limit", "300", "--batch-size", "64",
                 "--test-limit", "500", "--out", str(out), "--verbose", "0", *extra]) == 0
    s = _check_run_dir(out, has_plots, 2)
    assert s["settings"]["model"] == model and s["n_train"] == 300


def test_predict_reads_idx(require_dataset, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--model", "mlp", "--epochs", "1", "--limit", "200", "--out", str(out),
                 "--verbose", "0"]) == 0
    from tapeflow.keras.datasets import fashion_mnist
    (x, _), _ = fashion_mnist.load_data()
    header = bytes([0, 0, 8, 3]) + np.array([3, 28, 28], ">u4").tobytes()
    (tmp_path / "imgs-idx3-ubyte").write_bytes(header + x[:3].tobytes())
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "imgs-idx3-ubyte")]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


@pytest.mark.parametrize("argv,needle", [
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--learning-rate", "-1"], "--learning-rate"),
    (["train", "--dropout", "1.5"], "--dropout"),
    (["train", "--optimizer", "adamm"], "adam"),
    (["train", "--schedule", "linear"], "one-cycle"),
    (["train", "--dataset", "imagenet"], "cifar10"),
    (["train", "--model", "resnet"], "lstm"),
    (["predict", "m.keras", "x.npy", "--top-k", "0"], "--top-k"),
])
def test_bad_flags_name_the_flag_and_allowed_values(argv, needle, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert needle in capsys.readouterr().err


def test_missing_run_is_a_clear_error(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing")]) == 1
    assert "no such run directory" in capsys.readouterr().err


def test_import_tapeflow_does_not_import_matplotlib_or_cli():
    code = ("import sys, tapeflow; bad = [m for m in sys.modules if m.startswith(('matplotlib', 'tapeflow.cli'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_plots_skipped_without_matplotlib(require_dataset, tmp_path, monkeypatch, capsys):
    from tapeflow.cli import plots
    monkeypatch.setattr(plots, "available", lambda: False)
    out = tmp_path / "noplots"
    assert main(["train", "--model", "mlp", "--epochs", "1", "--limit", "200", "--out", str(out),
                 "--verbose", "0"]) == 0
    assert "plots skipped" in capsys.readouterr().out
    assert not list(out.glob("*.png"))
    assert (out / "model.keras").is_file()
