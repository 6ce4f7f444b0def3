"""``tf.train.Example`` and its parts, in protocol-buffer wire format written by hand (no protobuf package).

The messages (``tensorflow/core/example/{example,feature}.proto``)::

    Example  { Features features = 1; }
    Features { map<string, Feature> feature = 1; }       # entry: { string key = 1; Feature value = 2; }
    Feature  { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }
    FloatList { repeated float value = 1 [packed = true]; }
    Int64List { repeated int64 value = 1 [packed = true]; }

``SerializeToString()`` writes map entries sorted by key as TensorFlow's Python protobuf (upb) does with
``SerializeToString(deterministic=True)``, byte for byte: bytewise order, except that a key comes before its own
prefixes ("ids" before "id"; C++ protobuf puts "id" first). TF's default order is a hash map's, unspecified.
Parsing accepts packed and unpacked repeated numbers, any entry order, and skips unknown fields.

>>> import tapeflow as tf
>>> ex = tf.train.Example(features=tf.train.Features(feature={
...     "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[-1, 2])),
...     "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"cat"]))}))
>>> data = ex.SerializeToString()
>>> data.hex()
'0a2b0a180a056c6162656c120f1a0d0a0bffffffffffffffffff01020a0f0a046e616d6512070a050a03636174'
>>> back = tf.train.Example.FromString(data)
>>> list(back.features.feature["label"].int64_list.value), back == ex
([-1, 2], True)
"""
from __future__ import annotations

import struct

import numpy as np

__all__ = ["BytesList", "FloatList", "Int64List", "Feature", "Features", "Example", "FeatureList",
           "FeatureLists", "DecodeError"]


class DecodeError(ValueError):
    """Malformed protocol-buffer bytes (``google.protobuf.message.DecodeError``'s role)."""


# -- wire format ---------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_varint(buf: bytes, pos: int, what: str):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise DecodeError(f"{what}: truncated varint at byte {pos}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result & ((1 << 64) - 1), pos
        shift += 7
        if shift >= 70:
            raise DecodeError(f"{what}: varint longer than 10 bytes at byte {pos}")


def _field(number: int, wire: int) -> bytes:
    return _varint((number << 3) | wire)


def _len_field(number: int, payload: bytes) -> bytes:
    return _field(number, 2) + _varint(len(payload)) + payload


def _fields(buf: bytes, what: str):
    """Yield ``(field_number, wire_type, value)``; value is an int (wire 0, 1, 5) or bytes (wire 2)."""
    pos, n = 0, len(buf)
    while pos < n:
        key, pos = _read_varint(buf, pos, what)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos, what)
        elif wire == 2:
            size, pos = _read_varint(buf, pos, what)
            if pos + size > n:
                raise DecodeError(f"{what}: field {number} claims {size} bytes, only {n - pos} left")
            value, pos = buf[pos:pos + size], pos + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > n:
                raise DecodeError(f"{what}: truncated fixed{width * 8} field {number}")
            value, pos = buf[pos:pos + width], pos + width
        else:
            raise DecodeError(f"{what}: unsupported wire type {wire} for field {number}")
        yield number, wire, value


class _Message:
    """Base: equality, ``FromString``/``ParseFromString``, ``ByteSize``."""

    @classmethod
    def FromString(cls, data: bytes):  # noqa: N802 - protobuf's name
        """Parse serialized bytes into a new message."""
        out = cls()
        out.ParseFromString(data)
        return out

    def ParseFromString(self, data) -> int:  # noqa: N802
        """Replace this message's content with the parsed ``data``; returns the byte count."""
        data = bytes(data)
        self._parse(data)
        return len(data)

    def ByteSize(self) -> int:  # noqa: N802
        """Length of ``SerializeToString()``."""
        return len(self.SerializeToString())

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def __repr__(self):
        return f"{type(self).__name__}({self._key()!r})"


class _List(_Message):
    _cast = staticmethod(lambda v: v)

    def __init__(self, value=()):
        self.value = [self._cast(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]

    def _key(self):
        return self.value

    def _parse(self, data):
        self.value = []
        for number, wire, value in _fields(data, type(self).__name__):
            if number == 1:
                self._take(wire, value)


class BytesList(_List):
    """``repeated bytes value = 1``; ``str`` values are stored as their UTF-8 bytes."""

    _cast = staticmethod(lambda v: v.encode() if isinstance(v, str) else bytes(v))

    def SerializeToString(self) -> bytes:  # noqa: N802
        """The wire bytes."""
        return b"".join(_len_field(1, v) for v in self.value)

    def _take(self, wire, value):
        if wire != 2:
            raise DecodeError(f"BytesList: field 1 has wire type {wire}, expected 2 (bytes)")
        self.value.append(bytes(value))


class FloatList(_List):
    """``repeated float value = 1 [packed = true]`` (stored as float32, like TensorFlow)."""

    _cast = staticmethod(lambda v: float(np.float32(v)))

    def SerializeToString(self) -> bytes:  # noqa: N802
        """The wire bytes (packed little-endian float32)."""
        return _len_field(1, np.asarray(self.value, "<f4").tobytes()) if self.value else b""

    def _take(self, wire, value):
        if wire == 2:
            if len(value) % 4:
                raise DecodeError(f"FloatList: packed field of {len(value)} bytes is not a multiple of 4")
            self.value.extend(np.frombuffer(value, "<f4").tolist())
        elif wire == 5:
            self.value.append(struct.unpack("<f", value)[0])
        else:
            raise DecodeError(f"FloatList: field 1 has wire type {wire}, expected 2 (packed) or 5 (float)")


def _signed64(n: int) -> int:
    return n - (1 << 64) if n >= 1 << 63 else n


class Int64List(_List):
    """``repeated int64 value = 1 [packed = true]`` (negative numbers are 10-byte varints)."""

    @staticmethod
    def _cast(v):
        v = int(v)
        if not -(1 << 63) <= v < (1 << 63):
            raise ValueError(f"Int64List: value {v} is out of the int64 range")
        return v

    def SerializeToString(self) -> bytes:  # noqa: N802
        """The wire bytes (packed varints)."""
        return _len_field(1, b"".join(_varint(v) for v in self.value)) if self.value else b""

    def _take(self, wire, value):
        if wire == 2:
            pos = 0
            while pos < len(value):
                v, pos = _read_varint(value, pos, "Int64List")
                self.value.append(_signed64(v))
        elif wire == 0:
            self.value.append(_signed64(value))
        else:
            raise DecodeError(f"Int64List: field 1 has wire type {wire}, expected 2 (packed) or 0 (varint)")


_KINDS = {"bytes_list": (1, BytesList), "float_list": (2, FloatList), "int64_list": (3, Int64List)}


class Feature(_Message):
    """One of ``bytes_list`` / ``float_list`` / ``int64_list`` (``WhichOneof("kind")`` says which)."""

    def __init__(self, bytes_list=None, float_list=None, int64_list=None):
        given = {k: v for k, v in (("bytes_list", bytes_list), ("float_list", float_list),
                                   ("int64_list", int64_list)) if v is not None}
        if len(given) > 1:
            raise ValueError(f"Feature: set only one of bytes_list/float_list/int64_list, got {sorted(given)}")
        self._kind, self._list = (next(iter(given.items())) if given else (None, None))
        if self._list is not None and not isinstance(self._list, _KINDS[self._kind][1]):
            raise TypeError(f"Feature: {self._kind} must be a tf.train.{_KINDS[self._kind][1].__name__}, "
                            f"got {type(self._list).__name__}")

    def WhichOneof(self, name="kind"):  # noqa: N802
        """``"bytes_list"``, ``"float_list"``, ``"int64_list"`` or None."""
        return self._kind

    def HasField(self, name) -> bool:  # noqa: N802
        """Whether ``name`` is the kind that is set."""
        return self._kind == name

    def __getattr__(self, name):
        if name in _KINDS:
            return self._list if self._kind == name else _KINDS[name][1]()
        raise AttributeError(name)

    def _key(self):
        return (self._kind, self._list.value if self._list is not None else None)

    def SerializeToString(self) -> bytes:  # noqa: N802
        """The wire bytes."""
        if self._kind is None:
            return b""
        return _len_field(_KINDS[self._kind][0], self._list.SerializeToString())

    def _parse(self, data):
        self._kind, self._list = None, None
        by_number = {num: (name, cls) for name, (num, cls) in _KINDS.items()}
        for number, wire, value in _fields(data, "Feature"):
            if number in by_number and wire == 2:
                name, cls = by_number[number]
                if self._kind == name:  # protobuf merges repeated occurrences of a message field
                    self._list.value.extend(cls.FromString(value).value)
                else:
                    self._kind, self._list = name, cls.FromString(value)


def _parse_map(data: bytes, value_cls, what: str) -> dict:
    out = {}
    for number, wire, entry in _fields(data, what):
        if number != 1 or wire != 2:
            continue
        key, value = "", value_cls()
        for n, w, v in _fields(entry, what + " entry"):
            if n == 1 and w == 2:
                try:
                    key = bytes(v).decode("utf-8")
                except UnicodeDecodeError:
                    raise DecodeError(f"{what}: a map key is not valid UTF-8: {bytes(v)!r}") from None
            elif n == 2 and w == 2:
                value = value_cls.FromString(v)
        out[key] = value
    return out


def _map_order(key: str):
    """upb's deterministic map order: bytewise, but a key sorts before its own prefixes ("ids" < "id")."""
    return tuple(key.encode()) + (256,)


def _serialize_map(mapping: dict) -> bytes:
    return b"".join(_len_field(1, _len_field(1, k.encode()) + _len_field(2, mapping[k].SerializeToString()))
                    for k in sorted(mapping, key=_map_order))


class Features(_Message):
    """``map<string, Feature> feature = 1``; ``feature`` is a plain dict of name -> ``Feature``."""

    def __init__(self, feature=None):
        self.feature = dict(feature or {})
        for k, v in self.feature.items():
            if not isinstance(v, Feature):
                raise TypeError(f"Features: feature {k!r} must be a tf.train.Feature, got {type(v).__name__}")

    def _key(self):
        return {k: v._key() for k, v in self.feature.items()}

    def SerializeToString(self) -> bytes:  # noqa: N802
        """The wire bytes, entries sorted by key."""
        return _serialize_map(self.feature)

    def _parse(self, data):
        self.feature = _parse_map(data, Feature, "Features")


class FeatureList(_Message):
    """``repeated Feature feature = 1`` (part of ``SequenceExample``)."""

    def __init__(self, feature=None):
        self.feature = list(feature or [])

    def _key(self):
        return [f._key() for f in self.feature]

    def SerializeToString(self) -> bytes:  # noqa: N802
        """The wire bytes."""
        return b"".join(_len_field(1, f.SerializeToString()) for f in self.feature)

    def _parse(self, data):
        self.feature = [Feature.FromString(v) for n, w, v in _fields(data, "FeatureList") if n == 1 and w == 2]


class FeatureLists(_Message):
    """``map<string, FeatureList> feature_list = 1``."""

    def __init__(self, feature_list=None):
        self.feature_list = dict(feature_list or {})

    def _key(self):
        return {k: v._key() for k, v in self.feature_list.items()}

    def SerializeToString(self) -> bytes:  # noqa: N802
        """The wire bytes, entries sorted by key."""
        return _serialize_map(self.feature_list)

    def _parse(self, data):
        self.feature_list = _parse_map(data, FeatureList, "FeatureLists")


class Example(_Message):
    """``Features features = 1``: one record of named features."""

    def __init__(self, features=None):
        if features is not None and not isinstance(features, Features):
            raise TypeError(f"Example: features must be a tf.train.Features, got {type(features).__name__}")
        self.features = features if features is not None else Features()
        self._set = features is not None

    def _key(self):
        return self.features._key()

    def SerializeToString(self) -> bytes:  # noqa: N802
        """The wire bytes (``features`` is omitted while it is an unset, empty sub-message, as in protobuf)."""
        inner = self.features.SerializeToString()
        return _len_field(1, inner) if self._set or self.features.feature else b""

    def _parse(self, data):
        self.features, self._set = Features(), False
        for number, wire, value in _fields(data, "Example"):
            if number == 1 and wire == 2:
                self._set = True
                self.features.feature.update(Features.FromString(value).feature)
