import struct

import numpy as np
import pytest

from aniportrait_cli.landmarks.protobuf_wire import Message, WireFormatError, encode_varint, read_varint


def tag(number: int, wire: int) -> bytes:
    return encode_varint(number << 3 | wire)


def delimited(number: int, payload: bytes) -> bytes:
    return tag(number, 2) + encode_varint(len(payload)) + payload


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32 - 1, 2**63])
def test_varint_round_trip(value):
    encoded = encode_varint(value)
    assert read_varint(encoded + b"\x00", 0) == (value, len(encoded))


def test_repeated_fields_unpacked_and_packed_agree():
    floats = [1.5, -2.25, 3.0e-7]
    ints = [0, 5, 467, 300000]
    unpacked = b"".join(tag(3, 5) + struct.pack("<f", f) for f in floats)
    unpacked += b"".join(tag(4, 0) + encode_varint(i) for i in ints)
    packed = delimited(3, struct.pack("<3f", *floats)) + delimited(4, b"".join(encode_varint(i) for i in ints))
    for data in (unpacked, packed):
        message = Message(data)
        np.testing.assert_array_equal(message.floats(3), np.float32(floats))
        assert message.varints(4) == ints
    # Mixed: protobuf parsers must concatenate both encodings of the same field.
    mixed = Message(delimited(4, encode_varint(1)) + tag(4, 0) + encode_varint(2))
    assert mixed.varints(4) == [1, 2]


def test_nested_messages_and_defaults():
    inner = tag(1, 0) + encode_varint(7) + tag(2, 5) + struct.pack("<f", 0.25)
    data = delimited(2, inner) + delimited(2, inner) + tag(3, 0) + encode_varint(1)
    message = Message(data)
    entries = message.messages(2)
    assert [(e.varint(1), e.float(2)) for e in entries] == [(7, 0.25), (7, 0.25)]
    assert message.varint(3) == 1
    assert message.varint(9, default=4) == 4 and not message.has(9)
    with pytest.raises(WireFormatError):
        message.message(9)


def test_unknown_wire_types_are_skipped_or_rejected():
    fixed64 = tag(5, 1) + struct.pack("<d", 1.0)
    assert Message(fixed64 + tag(1, 0) + encode_varint(3)).varint(1) == 3
    with pytest.raises(WireFormatError):
        Message(tag(1, 3))  # start-group: not used by the metadata


@pytest.mark.parametrize("data", [b"\x08", b"\x0a\x05ab", b"\x1d\x00\x00", b"\x80"])
def test_truncated_input_is_an_error(data):
    with pytest.raises(WireFormatError):
        Message(data)


def test_wrong_wire_type_for_a_float_is_an_error():
    with pytest.raises(WireFormatError):
        Message(tag(3, 0) + encode_varint(1)).floats(3)
