"""A tiny reader for the protobuf wire format, enough to decode MediaPipe's geometry metadata.

We avoid a dependency on `protobuf` and on MediaPipe's private schema modules: the metadata file only uses
varints, 32-bit floats and nested messages. Repeated scalar fields may be stored unpacked (one tag per element)
or packed (one length-delimited blob); `Message` accepts both.
"""

from __future__ import annotations

import struct
from collections import defaultdict

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LENGTH_DELIMITED = 2
WIRE_FIXED32 = 5


class WireFormatError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at `pos`; returns (value, position after it)."""
    value = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise WireFormatError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift >= 70:
            raise WireFormatError("varint longer than 10 bytes")


def parse_fields(data: bytes) -> dict[int, list[tuple[int, int | bytes]]]:
    """Split a message into {field number: [(wire type, raw value), ...]} in file order.

    Varints come back as unsigned ints, fixed32/fixed64 and length-delimited fields as their raw bytes.
    """
    fields: dict[int, list[tuple[int, int | bytes]]] = defaultdict(list)
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireFormatError("field number 0")
        if wire_type == WIRE_VARINT:
            value, pos = read_varint(data, pos)
        elif wire_type == WIRE_FIXED64:
            value, pos = data[pos: pos + 8], pos + 8
        elif wire_type == WIRE_LENGTH_DELIMITED:
            length, pos = read_varint(data, pos)
            value, pos = data[pos: pos + length], pos + length
        elif wire_type == WIRE_FIXED32:
            value, pos = data[pos: pos + 4], pos + 4
        else:
            raise WireFormatError(f"unsupported wire type {wire_type} (field {number})")
        if pos > len(data):
            raise WireFormatError(f"field {number} runs past the end of the message")
        fields[number].append((wire_type, value))
    return dict(fields)


class Message:
    """Typed access to the fields of one decoded message."""

    def __init__(self, data: bytes):
        self.fields = parse_fields(bytes(data))

    def has(self, number: int) -> bool:
        return number in self.fields

    def messages(self, number: int) -> list[Message]:
        """A (repeated) nested message field."""
        return [Message(self._expect(number, wire, value, WIRE_LENGTH_DELIMITED)) for wire, value in self.fields.get(number, [])]

    def message(self, number: int) -> Message:
        found = self.messages(number)
        if not found:
            raise WireFormatError(f"missing message field {number}")
        # Protobuf merges repeated occurrences of a singular message; the metadata never splits one.
        return found[-1]

    def varints(self, number: int) -> list[int]:
        """A repeated varint field (uint32, int32 >= 0, enum), packed or unpacked."""
        out: list[int] = []
        for wire, value in self.fields.get(number, []):
            if wire == WIRE_VARINT:
                out.append(value)
            elif wire == WIRE_LENGTH_DELIMITED:
                pos = 0
                while pos < len(value):
                    item, pos = read_varint(value, pos)
                    out.append(item)
            else:
                raise WireFormatError(f"field {number}: wire type {wire} is not a varint")
        return out

    def varint(self, number: int, default: int = 0) -> int:
        values = self.varints(number)
        return values[-1] if values else default

    def floats(self, number: int) -> list[float]:
        """A repeated `float` (fixed32) field, packed or unpacked."""
        out: list[float] = []
        for wire, value in self.fields.get(number, []):
            if wire == WIRE_FIXED32:
                out.append(struct.unpack("<f", value)[0])
            elif wire == WIRE_LENGTH_DELIMITED:
                if len(value) % 4:
                    raise WireFormatError(f"field {number}: packed floats of {len(value)} bytes")
                out.extend(struct.unpack(f"<{len(value) // 4}f", value))
            else:
                raise WireFormatError(f"field {number}: wire type {wire} is not a float")
        return out

    def float(self, number: int, default: float = 0.0) -> float:
        values = self.floats(number)
        return values[-1] if values else default

    @staticmethod
    def _expect(number: int, wire: int, value, expected: int):
        if wire != expected:
            raise WireFormatError(f"field {number}: wire type {wire}, expected {expected}")
        return value


def encode_varint(value: int) -> bytes:
    """Encode a non-negative int as a varint (used by tests to build packed/unpacked messages)."""
    if value < 0:
        raise ValueError("negative varints are not supported")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
