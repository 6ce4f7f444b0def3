"""Image files for ``tf.io``: PNG encoding and decoding from first principles (zlib from the standard library),
uncompressed BMP decoding. JPEG and GIF are recognised and refused with a clear error.

PNG decoding covers every colour type (grey, RGB, palette with tRNS, grey+alpha, RGBA), bit depths
1/2/4/8/16, the five filter types and Adam7 interlacing; each chunk's CRC is checked. Channel conversions follow
TensorFlow/libpng: low-depth grey is scaled to 0..255, RGB -> grey uses libpng's integer weights
(9798, 19235, 3735) / 32768, truncated; a missing alpha is filled with the maximum value (libpng gives 15 for a
4-bit palette: not copied); 16-bit data read as uint8 keeps the high byte; uint8 read as uint16 is times 257.

>>> import numpy as np, tapeflow as tf
>>> img = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
>>> data = tf.io.encode_png(img)
>>> data.numpy()[:8]
b'\\x89PNG\\r\\n\\x1a\\n'
>>> bool((tf.io.decode_png(data).numpy() == img).all()), tf.io.decode_png(data, channels=4).shape.as_list()
(True, [2, 4, 4])
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

from .autodiff.tensor import Tensor
from .errors import InvalidArgumentError
from .io_records import _as_bytes

__all__ = ["encode_png", "decode_png", "decode_bmp", "decode_image", "decode_jpeg", "decode_gif",
           "is_jpeg"]

_SIG = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def _invalid(message: str) -> InvalidArgumentError:
    return InvalidArgumentError(None, None, message)


def _array(x) -> np.ndarray:
    return np.asarray(x._value if isinstance(x, Tensor) else x)


def _dtype(dtype, who: str):
    dt = np.dtype(getattr(dtype, "as_numpy_dtype", dtype) if not isinstance(dtype, str) else dtype)
    if dt not in (np.uint8, np.uint16, np.float16, np.float32, np.float64):
        raise TypeError(f"{who}: dtype must be uint8, uint16 or a float type, got {dt.name}")
    return dt


# -- encoding -----------------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(image, compression=-1, name=None) -> Tensor:
    """PNG bytes of a ``(height, width, channels)`` uint8/uint16 image, 1-4 channels (grey, grey+alpha, RGB,
    RGBA). ``compression``: -1 (zlib's default) or 0-9. Rows are written with the Sub filter."""
    img = _array(image)
    if img.ndim != 3 or not 1 <= img.shape[-1] <= 4:
        raise _invalid(f"encode_png: image must have shape (height, width, channels) with 1-4 channels, "
                         f"got shape {img.shape}")
    if img.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"encode_png: image dtype must be uint8 or uint16, got {img.dtype}; "
                        "use tf.image.convert_image_dtype first")
    if not -1 <= int(compression) <= 9:
        raise _invalid(f"encode_png: compression must be -1 or 0..9, got {compression}")
    h, w, c = img.shape
    depth = 8 * img.dtype.itemsize
    rows = np.ascontiguousarray(img.astype(">u2") if depth == 16 else img).view(np.uint8).reshape(h, -1)
    bpp = c * depth // 8
    filtered = rows.copy()
    filtered[:, bpp:] -= rows[:, :-bpp]  # Sub filter, uint8 arithmetic wraps mod 256
    raw = np.concatenate([np.ones((h, 1), np.uint8), filtered], axis=1).tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, depth, {1: 0, 2: 4, 3: 2, 4: 6}[c], 0, 0, 0)
    data = _SIG + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, int(compression))) + _chunk(b"IEND", b"")
    return Tensor._wrap(np.array(data, dtype=object))


# -- decoding -----------------------------------------------------------------------------------
def _chunks(data: bytes, who: str):
    if data[:8] != _SIG:
        raise _invalid(f"{who}: not a PNG file (the first bytes are {data[:8]!r}, expected {_SIG!r})")
    pos = 8
    while pos + 8 <= len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise _invalid(f"{who}: truncated PNG: chunk {kind!r} needs {length} bytes, the file ends first")
        body = data[pos + 8:pos + 8 + length]
        (stored,) = struct.unpack(">I", data[end - 4:end])
        if zlib.crc32(kind + body) != stored:
            raise _invalid(f"{who}: corrupt PNG: CRC mismatch in chunk {kind.decode('latin-1')!r} "
                             f"(computed {zlib.crc32(kind + body):#010x}, stored {stored:#010x})")
        yield kind, body
        if kind == b"IEND":
            return
        pos = end
    raise _invalid(f"{who}: truncated PNG: no IEND chunk")


def _unfilter(raw: np.ndarray, h: int, rowlen: int, bpp: int, who: str) -> np.ndarray:
    """Undo the per-row filters of an ``h``-row pass; returns ``(h, rowlen)`` uint8."""
    if raw.size < h * (rowlen + 1):
        raise _invalid(f"{who}: corrupt PNG: image data is {raw.size} bytes, expected {h * (rowlen + 1)}")
    lines = raw[:h * (rowlen + 1)].reshape(h, rowlen + 1)
    out = np.zeros((h, rowlen), np.uint8)
    prev = np.zeros(rowlen, np.uint8)
    for y in range(h):
        ft, f = lines[y, 0], lines[y, 1:]
        if ft == 0:
            cur = f.copy()
        elif ft == 1:
            cur = np.cumsum(f.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif ft == 2:
            cur = f + prev
        elif ft in (3, 4):
            cur = bytearray(f.tobytes())
            p = prev.tobytes()
            for i in range(rowlen):
                a = cur[i - bpp] if i >= bpp else 0
                b = p[i]
                if ft == 3:
                    cur[i] = (cur[i] + ((a + b) >> 1)) & 255
                else:
                    c = p[i - bpp] if i >= bpp else 0
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            cur = np.frombuffer(bytes(cur), np.uint8)
        else:
            raise _invalid(f"{who}: corrupt PNG: unknown filter type {ft} on row {y}")
        out[y] = prev = cur
    return out


def _samples(rows: np.ndarray, w: int, ch: int, depth: int) -> np.ndarray:
    h = rows.shape[0]
    if depth == 16:
        return rows.view(">u2").astype(np.uint16).reshape(h, w, ch)
    if depth == 8:
        return rows.reshape(h, w, ch)
    bits = np.unpackbits(rows, axis=1)[:, :w * ch * depth].reshape(h, w * ch, depth)
    weights = (1 << np.arange(depth - 1, -1, -1)).astype(np.uint8)
    return (bits * weights).sum(axis=-1, dtype=np.uint8).reshape(h, w, ch)


def _read_png(data: bytes, who: str):
    """-> (samples (h, w, ch) uint8/uint16 with palette expanded and low depths scaled, depth, alpha_from_trns)."""
    ihdr, plte, trns, idat = None, None, None, []
    for kind, body in _chunks(data, who):
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"PLTE":
            plte = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif kind == b"tRNS":
            trns = body
        elif kind == b"IDAT":
            idat.append(body)
    if ihdr is None or len(ihdr) != 13:
        raise _invalid(f"{who}: corrupt PNG: missing or malformed IHDR chunk")
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    if ctype not in _CHANNELS or depth not in _DEPTHS[ctype]:
        raise _invalid(f"{who}: invalid PNG: colour type {ctype} with bit depth {depth}")
    if w == 0 or h == 0 or w * h > 1 << 28:
        raise _invalid(f"{who}: PNG size {w}x{h} is empty or too large")
    if ctype == 3 and plte is None:
        raise _invalid(f"{who}: corrupt PNG: palette image without a PLTE chunk")
    if not idat:
        raise _invalid(f"{who}: corrupt PNG: no IDAT chunk")
    try:
        raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8)
    except zlib.error as e:
        raise _invalid(f"{who}: corrupt PNG: image data does not decompress: {e}") from None
    ch = _CHANNELS[ctype]
    bpp = max(1, ch * depth // 8)
    img = np.zeros((h, w, ch), np.uint16 if depth == 16 else np.uint8)
    passes = _ADAM7 if interlace else [(0, 0, 1, 1)]
    pos = 0
    for x0, y0, dx, dy in passes:
        pw, ph = (w - x0 + dx - 1) // dx, (h - y0 + dy - 1) // dy
        if pw <= 0 or ph <= 0:
            continue
        rowlen = (pw * ch * depth + 7) // 8
        rows = _unfilter(raw[pos:], ph, rowlen, bpp, who)
        pos += ph * (rowlen + 1)
        img[y0::dy, x0::dx] = _samples(rows, pw, ch, depth)
    alpha = None
    if ctype == 3:
        idx = img[..., 0]
        if idx.max() >= len(plte):
            raise _invalid(f"{who}: corrupt PNG: palette index {idx.max()} out of {len(plte)} entries")
        rgb = plte[idx]
        if trns is not None:
            table = np.full(len(plte), 255, np.uint8)
            t = np.frombuffer(trns, np.uint8)[:len(plte)]
            table[:len(t)] = t
            return np.concatenate([rgb, table[idx][..., None]], axis=-1), 8, None
        return rgb, 8, None
    if ctype in (0, 2) and trns is not None and len(trns) >= 2 * ch:
        key = np.array(struct.unpack(f">{ch}H", trns[:2 * ch]), dtype=img.dtype)
        alpha = np.where((img == key).all(-1), 0, np.iinfo(img.dtype).max).astype(img.dtype)
    if depth < 8:
        img = img * np.uint8(255 // ((1 << depth) - 1))
    return img, depth, alpha


def _convert_channels(img: np.ndarray, channels: int, extra_alpha=None) -> np.ndarray:
    c = img.shape[-1]
    if channels == 0 or channels == c:
        return img
    colour, alpha = (img[..., :1] if c <= 2 else img[..., :3]), (img[..., -1:] if c in (2, 4) else extra_alpha)
    if channels in (1, 2) and colour.shape[-1] == 3:
        wide = colour.astype(np.int64)
        grey = (9798 * wide[..., 0] + 19235 * wide[..., 1] + 3735 * wide[..., 2]) >> 15
        colour = grey[..., None].astype(img.dtype)
    elif channels in (3, 4) and colour.shape[-1] == 1:
        colour = np.repeat(colour, 3, axis=-1)
    if channels in (1, 3):
        return colour
    if alpha is None:
        alpha = np.full(colour.shape[:-1] + (1,), np.iinfo(img.dtype).max, img.dtype)
    return np.concatenate([colour, alpha.reshape(colour.shape[:-1] + (1,))], axis=-1)


def _to_dtype(img: np.ndarray, dt: np.dtype) -> np.ndarray:
    if img.dtype == dt:
        return img
    if dt == np.uint8:
        return (img >> 8).astype(np.uint8)
    if dt == np.uint16:
        return img.astype(np.uint16) * np.uint16(257)
    return (img.astype(np.float64) / np.iinfo(img.dtype).max).astype(dt)


def _check_channels(channels, who):
    if channels not in (0, 1, 2, 3, 4):
        raise _invalid(f"{who}: channels must be 0 (as stored), 1, 2, 3 or 4, got {channels}")


def decode_png(contents, channels=0, dtype="uint8", name=None) -> Tensor:
    """Decode PNG bytes to a ``(height, width, channels)`` uint8 or uint16 tensor. ``channels=0`` keeps the
    file's channels (a palette becomes RGB, or RGBA with a tRNS chunk)."""
    _check_channels(channels, "decode_png")
    dt = _dtype(dtype, "decode_png")
    if dt not in (np.uint8, np.uint16):
        raise TypeError(f"decode_png: dtype must be uint8 or uint16, got {dt.name}")
    got = _read_png(_as_bytes(contents, "decode_png"), "decode_png")
    img = _convert_channels(got[0], int(channels), got[2])
    return Tensor._wrap(np.ascontiguousarray(_to_dtype(img, dt)))


def decode_bmp(contents, channels=0, name=None) -> Tensor:
    """Decode an uncompressed 24- or 32-bit BMP to uint8 ``(height, width, 3 or 4)``; ``channels`` 0, 3 or 4."""
    data = _as_bytes(contents, "decode_bmp")
    if data[:2] != b"BM" or len(data) < 30:
        raise _invalid(f"decode_bmp: not a BMP file (the first bytes are {data[:2]!r}, expected b'BM')")
    offset, = struct.unpack("<I", data[10:14])
    width, height, _, bits, compression = struct.unpack("<iiHHI", data[18:34])
    if bits not in (24, 32) or compression not in (0, 3):
        raise _invalid(f"decode_bmp: only uncompressed 24- and 32-bit BMPs are supported, got {bits}-bit "
                         f"with compression {compression}")
    if width <= 0 or height == 0:
        raise _invalid(f"decode_bmp: invalid size {width}x{height}")
    c = bits // 8
    stride = (width * c + 3) & ~3
    need = offset + stride * abs(height)
    if len(data) < need:
        raise _invalid(f"decode_bmp: truncated BMP: {len(data)} bytes, the header promises {need}")
    rows = np.frombuffer(data, np.uint8, stride * abs(height), offset).reshape(abs(height), stride)
    px = rows[:, :width * c].reshape(abs(height), width, c)
    if height > 0:
        px = px[::-1]
    img = px[..., [2, 1, 0, 3][:c]]
    if channels not in (0, 3, 4):
        raise _invalid(f"decode_bmp: channels must be 0, 3 or 4, got {channels}")
    return Tensor._wrap(np.ascontiguousarray(_convert_channels(img, int(channels))))


def _unsupported(kind: str):
    raise NotImplementedError(f"{kind} decoding is not supported by tapeflow (no codec beyond NumPy/zlib); "
                              f"convert the images to PNG (lossless) and use tf.io.decode_png")


def decode_jpeg(contents, channels=0, **kwargs):
    """Not supported: raises ``NotImplementedError`` suggesting PNG."""
    _unsupported("JPEG")


def decode_gif(contents, **kwargs):
    """Not supported: raises ``NotImplementedError`` suggesting PNG."""
    _unsupported("GIF")


def is_jpeg(contents, name=None) -> Tensor:
    """Whether the bytes start with the JPEG signature."""
    return Tensor._wrap(np.array(_as_bytes(contents, "is_jpeg")[:3] == b"\xff\xd8\xff"))


def decode_image(contents, channels=None, dtype="uint8", name=None, expand_animations=True) -> Tensor:
    """Decode PNG or BMP bytes by their signature; float ``dtype`` scales to [0, 1]. JPEG and GIF raise
    ``NotImplementedError``."""
    data = _as_bytes(contents, "decode_image")
    ch = 0 if channels is None else int(channels)
    _check_channels(ch, "decode_image")
    dt = _dtype(dtype, "decode_image")
    if data[:8] == _SIG:
        got = _read_png(data, "decode_image")
        img = _convert_channels(got[0], ch, got[2])
    elif data[:2] == b"BM":
        img = decode_bmp(data, ch)._value
    elif data[:3] == b"\xff\xd8\xff":
        _unsupported("JPEG")
    elif data[:4] == b"GIF8":
        _unsupported("GIF")
    else:
        raise _invalid(f"decode_image: unknown image format (first bytes {data[:8]!r}); PNG and BMP are "
                         "supported")
    return Tensor._wrap(np.ascontiguousarray(_to_dtype(img, dt)))
