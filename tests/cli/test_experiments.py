"""Every ``tapeflow experiment NAME --tiny`` writes its table, summary and plots with sane numbers."""
import json
import math
import os

import pytest

from tapeflow.cli.experiments import EXPERIMENTS
from tapeflow.cli.main import main

NO_DATA = {"softmax-temperature", "sparsemax"}
KEY_COLUMNS = {
    "fit-vs-loop": ("loss", "val_accuracy"), "l2": ("l2", "val_accuracy"), "lr-finder": ("learning_rate", "loss"),
    "lr-schedules": ("schedule", "val_accuracy"), "activations": ("activation", "val_accuracy"),
    "optimizers": ("optimizer", "final_loss"), "one-cycle-vs-cosine": ("schedule", "val_accuracy"),
    "gradient-noise": ("eta", "val_accuracy"), "softmax-temperature": ("temperature", "max_prob"),
    "sparsemax": ("function", "max_prob"),
}
MIN_ROWS = {"fit-vs-loop": 4, "l2": 3, "lr-finder": 5, "lr-schedules": 6, "activations": 9, "optimizers": 8,
            "one-cycle-vs-cosine": 4, "gradient-noise": 2, "softmax-temperature": 5, "sparsemax": 4}


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_experiment_tiny(name, tmp_path, request, has_plots, capsys):
    if name not in NO_DATA:
        request.getfixturevalue("require_dataset")
    out = tmp_path / name
    assert main(["experiment", name, "--tiny", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert name in printed and "wrote" in printed
    rows = json.loads((out / "results.json").read_text())
    assert len(rows) >= MIN_ROWS[name]
    assert (out / "results.csv").read_text().count("\n") == len(rows) + 1
    for col in KEY_COLUMNS[name]:
        assert all(col in r for r in rows), col
    for r in rows:
        for k, v in r.items():
            if "accuracy" in k or k in ("max_prob",):
                assert 0.0 <= v <= 1.0, (k, v)
            if k in ("loss", "final_loss") and name not in ("lr-finder", "gradient-noise"):
                assert math.isfinite(v), (k, v)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["experiment"] == name and summary["size"] == "tiny"
    if has_plots:
        assert summary["plots"], "no plots written"
        for p in summary["plots"]:
            assert (out / p).stat().st_size > 1000
    else:
        assert summary["plots"] == []


def test_sparsemax_gradient_matches_closed_form(tmp_path):
    assert main(["experiment", "sparsemax", "--tiny", "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["jacobian_max_abs_error"] < 1e-6
    for r in json.loads((tmp_path / "results.json").read_text()):
        assert abs(r["sum"] - 1) < 1e-5


def test_unknown_experiment_names_the_choices(capsys):
    with pytest.raises(SystemExit):
        main(["experiment", "nope"])
    err = capsys.readouterr().err
    assert "fit-vs-loop" in err and "nope" in err
