"""tf.io against TensorFlow 2's values (tests/fixtures/tf_io/expected.json, written by
tests/fixtures/make_tf_io.py): PNG decoding of TF-written and hand-written PNGs (every colour type, bit depth,
filter type, Adam7), PNG round trips, CRC errors, BMP, files and gfile, decode_raw / base64 / CSV."""
import io as _pyio
import json
import os
import struct
import zlib

import numpy as np
import pytest

import tapeflow as tf

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "tf_io")
EXP = json.load(open(os.path.join(HERE, "expected.json")))
IMAGES = EXP["images"]


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_decode_png_equals_tf(name):
    info = IMAGES[name]
    data = bytes.fromhex(info["png"])
    assert open(os.path.join(HERE, name + ".png"), "rb").read() == data
    got = tf.io.decode_png(data, dtype=info["dtype"]).numpy()
    assert got.dtype == np.dtype(info["dtype"])
    np.testing.assert_array_equal(got, np.array(info["decoded"]))
    if "decoded_uint8" in info:  # 16-bit data read as uint8
        np.testing.assert_array_equal(tf.io.decode_png(data).numpy(), np.array(info["decoded_uint8"]))
    np.testing.assert_array_equal(tf.io.decode_image(data, dtype=info["dtype"]).numpy(), got)


@pytest.mark.parametrize("key", sorted(EXP["png_channels"]))
def test_decode_png_channel_conversion_equals_tf(key):
    name, ch = key.split(":")
    got = tf.io.decode_png(bytes.fromhex(IMAGES[name]["png"]), channels=int(ch)).numpy()
    want = np.array(EXP["png_channels"][key])
    if key == "palette_4bit:4":  # libpng fills a 4-bit palette's added alpha with 15 (its filler at 4 bits)
        assert (want[..., 3] == 15).all() and (got[..., 3] == 255).all()
        want[..., 3] = 255
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_round_trip(channels, dtype):
    rng = np.random.default_rng(channels)
    img = rng.integers(0, np.iinfo(dtype).max + 1, (9, 14, channels)).astype(dtype)
    for level in (-1, 0, 9):
        data = tf.io.encode_png(img, compression=level)
        back = tf.io.decode_png(data, dtype=dtype)
        assert back.numpy().dtype == dtype
        np.testing.assert_array_equal(back.numpy(), img)


def test_png_readable_by_pil():
    image_mod = pytest.importorskip("PIL.Image")
    img = np.random.default_rng(0).integers(0, 256, (6, 5, 3)).astype(np.uint8)
    pil = image_mod.open(_pyio.BytesIO(tf.io.encode_png(img).numpy()))
    np.testing.assert_array_equal(np.asarray(pil), img)


def test_decode_image_float_and_channels():
    img = np.array([[[0], [255]]], np.uint8)
    data = tf.io.encode_png(img)
    np.testing.assert_allclose(tf.io.decode_image(data, dtype=tf.float32).numpy().ravel(), [0.0, 1.0])
    assert tf.io.decode_image(data, channels=3).shape.as_list() == [1, 2, 3]
    np.testing.assert_array_equal(tf.image.decode_png(data).numpy(), img)


def test_corrupt_png_names_the_problem():
    data = bytearray(bytes.fromhex(IMAGES["tf_rgb"]["png"]))
    data[45] ^= 0xFF  # inside the IDAT data (signature 8 + IHDR 25 + IDAT length and type 8 bytes)
    with pytest.raises(tf.errors.InvalidArgumentError, match="CRC mismatch in chunk 'IDAT'"):
        tf.io.decode_png(bytes(data))
    with pytest.raises(tf.errors.InvalidArgumentError, match="not a PNG"):
        tf.io.decode_png(b"hello world")
    with pytest.raises(tf.errors.InvalidArgumentError, match="truncated"):
        tf.io.decode_png(bytes.fromhex(IMAGES["tf_rgb"]["png"])[:50])


def test_unfilter_rejects_unknown_filter():
    raw = zlib.compress(b"\x07\x00")
    chunk = lambda k, d: struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))  # noqa: E731
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    with pytest.raises(tf.errors.InvalidArgumentError, match="unknown filter type 7"):
        tf.io.decode_png(png)


def test_jpeg_and_gif_are_refused_with_advice():
    with pytest.raises(NotImplementedError, match="JPEG.*PNG"):
        tf.io.decode_image(b"\xff\xd8\xff\xe0" + bytes(20))
    with pytest.raises(NotImplementedError, match="GIF.*PNG"):
        tf.io.decode_image(b"GIF89a" + bytes(20))
    with pytest.raises(NotImplementedError, match="JPEG"):
        tf.io.decode_jpeg(b"\xff\xd8\xff")


@pytest.mark.parametrize("bits,top_down", [(24, False), (32, False), (24, True)])
def test_decode_bmp(bits, top_down):
    img = np.random.default_rng(bits).integers(0, 256, (3, 5, bits // 8)).astype(np.uint8)
    c = bits // 8
    stride = (5 * c + 3) & ~3
    rows = img if top_down else img[::-1]
    pixels = b"".join(r[:, [2, 1, 0, 3][:c]].tobytes().ljust(stride, b"\0") for r in rows)
    header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
    dib = struct.pack("<IiiHHIIiiII", 40, 5, -3 if top_down else 3, 1, bits, 0, len(pixels), 0, 0, 0, 0)
    got = tf.io.decode_image(header + dib + pixels).numpy()
    np.testing.assert_array_equal(got, img)


def test_read_write_file_and_matching(tmp_path):
    path = str(tmp_path / "sub" / "a.bin")
    tf.io.write_file(path, b"\x00\x01abc")
    assert tf.io.read_file(path).numpy() == b"\x00\x01abc"
    assert tf.io.read_file(path).dtype == tf.string and tf.io.read_file(path).shape.as_list() == []
    tf.io.write_file(str(tmp_path / "sub" / "b.bin"), tf.constant("text"))
    assert sorted(os.listdir(tmp_path / "sub")) == ["a.bin", "b.bin"]  # no temporary file left behind
    got = tf.io.matching_files(str(tmp_path / "sub" / "*.bin")).numpy().tolist()
    assert got == [path.encode(), str(tmp_path / "sub" / "b.bin").encode()]
    with pytest.raises(tf.errors.NotFoundError, match="missing.bin"):
        tf.io.read_file(str(tmp_path / "missing.bin"))


def test_gfile(tmp_path):
    g = tf.io.gfile
    d = g.join(str(tmp_path), "x", "y")
    g.makedirs(d)
    assert g.isdir(d) and g.exists(d)
    with g.GFile(g.join(d, "f.txt"), "w") as f:
        f.write("hello\nworld\n")
    with g.GFile(g.join(d, "f.txt")) as f:
        assert f.readlines() == ["hello\n", "world\n"]
    with g.GFile(g.join(d, "f.txt"), "rb") as f:
        assert f.read() == b"hello\nworld\n" and f.size() == 12
    assert g.stat(g.join(d, "f.txt")).length == 12 and not g.stat(g.join(d, "f.txt")).is_directory
    g.copy(g.join(d, "f.txt"), g.join(d, "g.txt"))
    with pytest.raises(FileExistsError):
        g.copy(g.join(d, "f.txt"), g.join(d, "g.txt"))
    g.rename(g.join(d, "g.txt"), g.join(d, "h.txt"))
    assert g.listdir(d) == ["f.txt", "h.txt"]
    assert g.glob(g.join(d, "*.txt")) == [g.join(d, "f.txt"), g.join(d, "h.txt")]
    assert [w[0] for w in g.walk(str(tmp_path))] == [str(tmp_path), g.join(str(tmp_path), "x"), d]
    g.remove(g.join(d, "h.txt"))
    g.mkdir(g.join(d, "z"))
    g.rmtree(g.join(str(tmp_path), "x"))
    assert not g.exists(d)
    with pytest.raises(tf.errors.NotFoundError):
        g.GFile(g.join(d, "nope"))


def test_decode_raw_equals_tf():
    r = EXP["raw"]
    raw = bytes.fromhex(r["bytes"])
    assert tf.io.decode_raw(raw, tf.int16).numpy().tolist() == r["int16_le"]
    assert tf.io.decode_raw(raw, tf.int16, little_endian=False).numpy().tolist() == r["int16_be"]
    np.testing.assert_array_equal(tf.io.decode_raw(raw, tf.float32).numpy(), np.float32(r["float32"]))
    assert tf.io.decode_raw(raw, tf.uint8).numpy().tolist() == r["uint8"]
    assert tf.io.decode_raw([b"\x01\x02\x03", b"\x04"], tf.uint8, fixed_length=2).numpy().tolist() == r["fixed"]
    assert tf.io.decode_raw([b"\x01\x02\x03", b"\x04"], tf.int16, fixed_length=4).numpy().tolist() == r["fixed16"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="different lengths"):
        tf.io.decode_raw([b"ab", b"c"], tf.uint8)


def test_base64_equals_tf():
    for case in EXP["base64"]:
        raw = bytes.fromhex(case["raw"])
        assert tf.io.encode_base64(raw).numpy().decode() == case["enc"]
        assert tf.io.encode_base64(raw, pad=True).numpy().decode() == case["enc_pad"]
        assert tf.io.decode_base64(case["enc"]).numpy() == raw
        assert tf.io.decode_base64(case["enc_pad"]).numpy() == raw
    with pytest.raises(tf.errors.InvalidArgumentError, match="invalid character"):
        tf.io.decode_base64("ab+/")  # the standard alphabet is not web-safe


def test_decode_csv_equals_tf():
    c = EXP["csv"]
    out = tf.io.decode_csv(c["records"], [[0], [1.5], ["dflt"], tf.constant([0], tf.int64)])
    assert [o.numpy().dtype for o in out] == [np.int32, np.float32, object, np.int64]
    got = [o.numpy().tolist() for o in out]
    got[2] = [v.decode() for v in got[2]]
    assert got == c["out"]
    out = tf.io.decode_csv(["a|1|x", "b|NA|y"], [["z"], [0.0]], field_delim="|", na_value="NA", select_cols=[0, 1])
    assert [[v.decode() for v in out[0].numpy().tolist()], out[1].numpy().tolist()] == EXP["csv_select"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="field 1 is required but missing in record 0"):
        tf.io.decode_csv(["1,"], [[0], tf.constant([], tf.int32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected 2 fields but record 0 has 3"):
        tf.io.decode_csv(["1,2,3"], [[0], [0]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="field 0 of record 0 is not a valid int32"):
        tf.io.decode_csv(["x"], [[0]])
