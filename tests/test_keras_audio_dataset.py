"""keras.utils.audio_dataset_from_directory against Keras 3.15.1's batches (fixtures/tf_lookup_sets_audio.json).

The fixture's WAV tree (3 classes, clips of 2..9 samples, a nested .WAV file, a .txt file to skip) is rebuilt
in a temporary folder. Unshuffled datasets must equal Keras's batch for batch (padded to the longest clip, or
cropped/padded to output_sequence_length; int / categorical / binary / no labels; explicit labels; class_names;
validation_split subsets). With shuffle=True Keras's file order (np.random.RandomState(seed)) is reproduced, so
the validation half of subset="both" (not shuffled again) must match exactly; the dataset-level shuffle uses
tf.data's RNG, so shuffled training data is compared as a multiset of clips."""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tests._tf_records import DATA, ERRORS, assert_same, unb64

AUDIO_DS = DATA["audio_dataset"]


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("audio")
    out = {"root": str(base / "root"), "two": str(base / "two")}
    for rel, data in AUDIO_DS["files"].items():
        targets = ["root"] + (["two"] if rel.startswith(("down/", "go/")) else [])
        for t in targets:
            path = os.path.join(out[t], rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(unb64(data))
    return out


def _clips(batches):
    """(label, clip without its padding) of every element, sorted (a multiset)."""
    out = []
    for batch in batches:
        audio = np.asarray(batch[0].numpy() if hasattr(batch[0], "numpy") else batch[0]["a"], np.float32)
        labels = batch[1].numpy().tolist() if hasattr(batch[1], "numpy") else batch[1]["a"]
        for clip, label in zip(audio, labels):
            flat = clip.reshape(-1)
            end = len(flat) - np.argmax(flat[::-1] != 0) if flat.any() else 0
            out.append((repr(label), tuple(flat[:end].tolist())))
    return sorted(out)


@pytest.mark.parametrize("case", AUDIO_DS["cases"], ids=lambda c: c["name"])
def test_audio_dataset_matches_keras(case, roots):
    call = (lambda: keras.utils.audio_dataset_from_directory(roots[case["dir"]], verbose=False, **case["kwargs"]))
    if "error" in case:
        with pytest.raises(ERRORS[case["error"]]):
            call()
        return
    out = call()
    parts = out if isinstance(out, tuple) else (out,)
    assert len(parts) == len(case["out"])
    for k, (ds, want) in enumerate(zip(parts, case["out"])):
        assert ds.class_names == want["class_names"]
        got = [list(b) if isinstance(b, tuple) else [b] for b in ds]
        shuffled = case["kwargs"].get("shuffle") and not (case["kwargs"].get("subset") == "both" and k == 1)
        if shuffled:
            assert [len(b[0]) for b in got] == [len(b[0]["a"]) for b in want["batches"]]
            assert _clips(got) == _clips(want["batches"])
        else:
            assert_same(got, want["batches"], f"{case['name']}[{k}]")


def test_element_spec_and_cardinality(roots):
    ds = keras.utils.audio_dataset_from_directory(roots["root"], batch_size=4, shuffle=False, verbose=False)
    audio_spec, label_spec = ds.element_spec
    assert audio_spec.shape.as_list() == [None, None, None] and audio_spec.dtype == tf.float32
    assert label_spec.dtype == tf.int32 and int(ds.cardinality()) == 3
    fixed = keras.utils.audio_dataset_from_directory(roots["root"], batch_size=None, output_sequence_length=6,
                                                     shuffle=False, verbose=False, label_mode=None)
    assert fixed.element_spec.shape.as_list() == [6, None] and len(fixed) == 10


def test_unsupported_options_say_what_to_do(roots):
    with pytest.raises(NotImplementedError, match="RaggedTensor.*output_sequence_length"):
        keras.utils.audio_dataset_from_directory(roots["root"], ragged=True)
    with pytest.raises(ImportError, match="tensorflow-io.*sampling_rate=None"):
        keras.utils.audio_dataset_from_directory(roots["root"], sampling_rate=16000)


def test_a_bad_file_is_named(tmp_path, capsys):
    os.makedirs(tmp_path / "a")
    with open(tmp_path / "a" / "bad.wav", "wb") as f:
        f.write(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    ds = keras.utils.audio_dataset_from_directory(str(tmp_path), batch_size=1)
    assert "Found 1 files belonging to 1 classes." in capsys.readouterr().out
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"bad\.wav"):
        next(iter(ds))
    os.makedirs(tmp_path / "empty" / "b")
    with pytest.raises(ValueError, match="no audio files found"):
        keras.utils.audio_dataset_from_directory(str(tmp_path / "empty"), verbose=False)
