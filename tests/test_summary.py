"""tf.summary from a custom loop: event files that TensorBoard's own reader loads, with TensorFlow's tags."""
import numpy as np
import pytest

import tapeflow as tf
from tests._oracle import require_module


def _load(logdir):
    event_accumulator = require_module("tensorboard.backend.event_processing.event_accumulator",
                                       "pip install tensorboard")
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0,
                                                                          "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_scalars_histograms_images_and_text_reach_tensorboard(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step in range(4):
            assert tf.summary.scalar("loss", tf.constant(1.0 / (step + 1)), step=step)
            with tf.name_scope("weights"):
                tf.summary.histogram("w", np.random.default_rng(step).normal(size=100), step=step)
        tf.summary.image("samples", np.random.default_rng(0).random((2, 8, 8, 3)), step=3, max_outputs=2)
        tf.summary.text("note", "hello tensorboard", step=0)
    writer.close()
    acc = _load(tmp_path)
    tags = acc.Tags()
    assert [e.step for e in acc.Scalars("loss")] == [0, 1, 2, 3]
    np.testing.assert_allclose([e.value for e in acc.Scalars("loss")], [1, 0.5, 1 / 3, 0.25], rtol=1e-6)
    assert "weights/w" in tags["histograms"] and len(acc.Histograms("weights/w")) == 4
    assert sorted(tags["images"]) == ["samples/image/0", "samples/image/1"]
    assert acc.Images("samples/image/0")[0].width == 8


def test_default_step_record_if_and_errors(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    assert not tf.summary.scalar("outside", 1.0, step=0)          # no default writer: nothing written
    with writer.as_default(step=5):
        assert tf.summary.scalar("with_default_step", 2.0)
        with tf.summary.record_if(False):
            assert not tf.summary.scalar("skipped", 3.0)
    tf.summary.experimental.set_step(7)                   # as_default(step=) restored the step it replaced
    with writer.as_default():
        assert tf.summary.scalar("global_step", 4.0)
        with pytest.raises(ValueError, match="must be a scalar"):
            tf.summary.scalar("vector", [1.0, 2.0], step=1)
    tf.summary.experimental.set_step(None)
    with writer.as_default():
        with pytest.raises(ValueError, match="no step for 'stepless'"):
            tf.summary.scalar("stepless", 1.0)
    writer.close()
    acc = _load(tmp_path)
    assert [e.step for e in acc.Scalars("with_default_step")] == [5]
    assert [e.step for e in acc.Scalars("global_step")] == [7]
    assert "skipped" not in acc.Tags()["scalars"] and "outside" not in acc.Tags()["scalars"]
