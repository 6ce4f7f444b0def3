"""``tf.audio``: ``decode_wav`` and ``encode_wav``, 16-bit PCM WAV as TensorFlow reads and writes it.

``decode_wav`` parses the RIFF header as TF's ``wav_io`` does (a 16- or 18-byte ``fmt`` chunk, PCM format 1,
16 bits per sample, consistent byte rates; other chunks are skipped, with no pad byte after odd sizes) and
scales a sample ``s`` to ``s / 32768``. ``desired_channels`` crops channels or repeats the last one,
``desired_samples`` crops or pads with zeros. Only 16-bit PCM is read, as in TF: 8/24/32-bit PCM, float
(format 3) and WAVE_FORMAT_EXTENSIBLE files are refused with an error saying how to convert them.
``encode_wav`` writes the 44-byte header and ``clip(round(x * 32768), -32768, 32767)`` (halves round away from
zero; NaN becomes 0).

>>> import numpy as np, tapeflow as tf
>>> wav = tf.audio.encode_wav(np.array([[0.5], [-0.25], [1.0]], np.float32), 16000)
>>> audio, rate = tf.audio.decode_wav(wav, desired_channels=2, desired_samples=4)
>>> audio.numpy().tolist(), int(rate)
([[0.5, 0.5], [-0.25, -0.25], [0.999969482421875, 0.999969482421875], [0.0, 0.0]], 16000)
"""
from __future__ import annotations

import collections
import struct

import numpy as np

from .autodiff.tensor import Tensor
from .errors import InvalidArgumentError

__all__ = ["decode_wav", "encode_wav"]

DecodeWav = collections.namedtuple("DecodeWav", ["audio", "sample_rate"])

_CONVERT = "convert it to 16-bit PCM WAV first (e.g. `sox in.wav -b 16 -e signed-integer out.wav` or " \
           "`ffmpeg -i in.wav -acodec pcm_s16le out.wav`)"


def _bad(message: str) -> InvalidArgumentError:
    return InvalidArgumentError(None, None, f"decode_wav: {message}")


def _bytes(contents, who: str) -> bytes:
    v = contents._value if isinstance(contents, Tensor) else contents
    if isinstance(v, (list, tuple)):
        v = np.array(v, dtype=object)
    if isinstance(v, np.ndarray):
        if v.ndim != 0:
            raise InvalidArgumentError(None, None, f"{who}: contents must be a scalar string (one file's bytes), "
                                                   f"got shape {list(v.shape)}")
        v = v.item()
    if isinstance(v, str):
        v = v.encode("latin-1")
    if not isinstance(v, (bytes, bytearray, memoryview)):
        raise TypeError(f"{who}: contents must be the bytes of a WAV file (e.g. tf.io.read_file(path)), got "
                        f"{type(v).__name__}")
    return bytes(v)


def _int_arg(value, who: str, arg: str) -> int:
    v = value._value if isinstance(value, Tensor) else value
    a = np.asarray(v)
    if a.ndim != 0 or a.dtype.kind not in "iu":
        raise InvalidArgumentError(None, None, f"{who}: {arg} must be a scalar integer, got {v!r}")
    return int(a)


def _parse(data: bytes) -> tuple:
    """(int16 samples (frames, channels), sample rate) following TF's DecodeLin16WaveAsFloatVector."""
    n, offset = len(data), 0

    def take(count: int, what: str) -> bytes:
        nonlocal offset
        if offset + count > n:
            raise _bad(f"data too short when trying to read {what} (the WAV file is truncated: {n} bytes)")
        piece = data[offset:offset + count]
        offset += count
        return piece

    for text in (b"RIFF", None, b"WAVE", b"fmt "):
        found = take(4, "the header" if text else "the RIFF size")
        if text and found != text:
            raise _bad(f"header mismatch: expected {text.decode()} but found {found!r}; this is not a RIFF WAV file")
    fmt_size = struct.unpack("<I", take(4, "the format chunk size"))[0]
    if fmt_size not in (16, 18):
        hint = " (WAVE_FORMAT_EXTENSIBLE or a compressed format)" if fmt_size > 18 else ""
        raise _bad(f"bad format chunk size: expected 16 or 18, got {fmt_size}{hint}; {_CONVERT}")
    fmt, channels, rate, byte_rate, frame_bytes, bits = struct.unpack("<HHIIHH", take(16, "the format chunk"))
    if fmt != 1:
        raise _bad(f"bad audio format: expected 1 (PCM), got {fmt}{' (IEEE float)' if fmt == 3 else ''}; {_CONVERT}")
    if channels < 1:
        raise _bad(f"bad number of channels: expected at least 1, got {channels}")
    if bits != 16:
        raise _bad(f"can only read 16-bit WAV files, got {bits}-bit samples; {_CONVERT}")
    if frame_bytes != (bits * channels + 7) // 8:
        raise _bad(f"bad bytes per sample in the header: expected {(bits * channels + 7) // 8}, got {frame_bytes}")
    if byte_rate != frame_bytes * rate:
        raise _bad(f"bad bytes per second in the header: expected {frame_bytes * rate}, got {byte_rate} "
                   f"(sample_rate={rate}, bytes_per_sample={frame_bytes})")
    if fmt_size == 18:
        offset += 2
    samples = None
    while offset < n:
        chunk_id = take(4, "a chunk id")
        size = struct.unpack("<I", take(4, "a chunk size"))[0]
        if size > 2 ** 31 - 1:
            raise _bad(f"chunk {chunk_id!r} is too large: {size} bytes, but the limit is {2 ** 31 - 1}")
        if chunk_id == b"data":
            if samples is not None:
                raise _bad("more than one data chunk found in the WAV file")
            frames = size // frame_bytes
            raw = take(2 * frames * channels, "the audio samples")
            samples = np.frombuffer(raw, "<i2").reshape(frames, channels)
        else:
            offset += size
    if samples is None:
        raise _bad("no data chunk found in the WAV file")
    return samples, rate


def decode_wav(contents, desired_channels=-1, desired_samples=-1, name=None) -> DecodeWav:
    """``(audio, sample_rate)`` of a 16-bit PCM WAV file's bytes: float32 ``(samples, channels)`` in [-1, 1) and
    an int32 scalar. ``desired_channels`` / ``desired_samples`` (-1: the file's) crop, repeat the last channel
    or pad with zeros.

    >>> import numpy as np, tapeflow as tf
    >>> audio, rate = tf.audio.decode_wav(tf.audio.encode_wav(np.zeros((3, 2), np.float32), 8000))
    >>> audio.shape.as_list(), int(rate)
    ([3, 2], 8000)
    """
    data = _bytes(contents, "decode_wav")
    want_ch = _int_arg(desired_channels, "decode_wav", "desired_channels")
    want_n = _int_arg(desired_samples, "decode_wav", "desired_samples")
    for arg, v in (("desired_channels", want_ch), ("desired_samples", want_n)):
        if v < -1:
            raise InvalidArgumentError(None, None, f"decode_wav: {arg} must be >= -1 (-1: as in the file), got {v}")
    samples, rate = _parse(data)
    frames, channels = samples.shape
    out_ch = channels if want_ch == -1 else want_ch
    out_n = frames if want_n == -1 else want_n
    audio = np.zeros((out_n, out_ch), np.float32)
    keep = min(out_n, frames)
    if keep and out_ch:
        source = np.minimum(np.arange(out_ch), channels - 1)
        audio[:keep] = samples[:keep][:, source].astype(np.float32) * np.float32(1.0 / 32768)
    return DecodeWav(Tensor._wrap(audio), Tensor._wrap(np.array(rate, np.uint32).astype(np.int32)))


def encode_wav(audio, sample_rate, name=None) -> Tensor:
    """The bytes (a scalar string tensor) of a 16-bit PCM WAV file holding float32 ``audio`` of shape
    ``(samples, channels)`` at ``sample_rate`` (an int32 scalar).

    >>> import numpy as np, tapeflow as tf
    >>> wav = tf.audio.encode_wav(np.array([[0.0], [0.5]], np.float32), 8000).numpy()
    >>> len(wav), wav[:4], np.frombuffer(wav[44:], "<i2").tolist()
    (48, b'RIFF', [0, 16384])
    """
    who = "encode_wav"
    a = audio._value if isinstance(audio, Tensor) else np.asarray(audio)
    if a.dtype != np.float32:
        if isinstance(audio, Tensor) or a.dtype.kind not in "iuf":
            raise InvalidArgumentError(None, None, f"{who}: audio must be float32, got {a.dtype}; cast it with "
                                                   "tf.cast(audio, tf.float32)")
        a = a.astype(np.float32)
    if a.ndim != 2:
        raise InvalidArgumentError(None, None, f"{who}: audio must be 2-D (samples, channels), got shape "
                                               f"{list(a.shape)}; add a channel axis with tf.expand_dims(audio, -1)")
    rv = sample_rate._value if isinstance(sample_rate, Tensor) else sample_rate
    ra = np.asarray(rv)
    if ra.ndim != 0:
        raise InvalidArgumentError(None, None, f"{who}: sample_rate must be a scalar, got shape {list(ra.shape)}")
    if ra.dtype.kind not in "iu" or (isinstance(rv, (np.ndarray, np.generic)) and ra.dtype != np.int32):
        raise InvalidArgumentError(None, None, f"{who}: sample_rate must be an int32 scalar, got {rv!r} "
                                               f"({ra.dtype})")
    rate = int(ra)
    frames, channels = a.shape
    if not 0 < rate < 2 ** 32:
        raise InvalidArgumentError(None, None, f"{who}: sample_rate must be in (0, 2^32), got {rate}")
    if channels == 0 or channels >= 2 ** 16:
        raise InvalidArgumentError(None, None, f"{who}: the number of channels must be in (0, 2^16), got {channels}")
    size = 44 + 2 * frames * channels
    if size > 2 ** 32 - 1:
        raise InvalidArgumentError(None, None, f"{who}: {frames} frames of {channels} channels do not fit in a WAV")
    scaled = a.astype(np.float64) * 32768.0          # exact: a float32 times a power of two
    pcm = np.clip(np.nan_to_num(np.trunc(scaled + np.copysign(0.5, scaled)), nan=0.0), -32768, 32767)
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", size - 8, b"WAVE", b"fmt ", 16, 1, channels, rate,
                         rate * 2 * channels & 0xFFFFFFFF, 2 * channels, 16, b"data", 2 * frames * channels)
    return Tensor._wrap(np.array(header + pcm.astype("<i2").tobytes(), dtype=object))
