"""Wire framing on the host side: round trips, corruption, truncation, resync, fuzzing."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import DeviceFault, ProtocolError
from harness.faults import CFSR_BITS, bit_names, decode_fault
from harness.protocol import SYNC, Cmd, Frame, FrameDecoder, Hello, Msg, encode_frame

frames_st = st.builds(
    Frame,
    type=st.integers(0, 255),
    seq=st.integers(0, 255),
    payload=st.binary(max_size=300),
)


def decode_all(data: bytes, chunk: int | None = None, max_payload: int = 0xFFFF) -> list:
    dec = FrameDecoder(max_payload)
    if chunk is None:
        return dec.feed(data)
    out = []
    for i in range(0, len(data), chunk):
        out += dec.feed(data[i : i + chunk])
    return out


def errors(events: list) -> list[ProtocolError]:
    return [e for e in events if isinstance(e, ProtocolError)]


def test_layout_matches_spec() -> None:
    raw = encode_frame(Cmd.LOAD, 7, b"\x01\x02\x03")
    assert raw[:2] == SYNC
    assert raw[2:6] == bytes([0x02, 7, 3, 0])
    assert raw[6] == 0xFF ^ 0x02 ^ 7 ^ 3 ^ 0
    assert raw[7:10] == b"\x01\x02\x03"
    assert struct.unpack("<I", raw[10:]) == (zlib.crc32(bytes([0x02, 7, 3, 0, 1, 2, 3])),)


@given(st.lists(frames_st, max_size=6), st.integers(1, 17))
@settings(max_examples=150, deadline=None)
def test_round_trip_any_chunking(frames: list[Frame], chunk: int) -> None:
    data = b"".join(f.encode() for f in frames)
    assert decode_all(data) == frames
    assert decode_all(data, chunk) == frames


def test_corrupt_crc_is_reported_and_next_frame_survives() -> None:
    bad = bytearray(encode_frame(Msg.BOOT, 0, b"hello"))
    bad[9] ^= 0x40
    good = encode_frame(Cmd.HELLO | 0x80, 1, b"x=1\n")
    events = decode_all(bytes(bad) + good)
    assert [e.details["kind"] for e in errors(events)] == ["crc"]
    assert events[-1] == Frame(Cmd.HELLO | 0x80, 1, b"x=1\n")


def test_corrupt_header_is_reported_before_the_payload_arrives() -> None:
    bad = bytearray(encode_frame(Cmd.INVOKE | 0x80, 3, bytes(16)))
    bad[4] ^= 0x01  # length low byte
    dec = FrameDecoder()
    events = dec.feed(bytes(bad[:7]))  # header only
    assert [e.details["kind"] for e in errors(events)] == ["header"]


def test_length_beyond_limit_rejected_from_header_alone() -> None:
    raw = encode_frame(Cmd.READ | 0x80, 1, bytes(300))
    events = FrameDecoder(max_payload=256).feed(raw[:7])
    assert [e.details["kind"] for e in errors(events)] == ["length"]


def test_truncated_frame_then_good_frame() -> None:
    first = encode_frame(Cmd.READ | 0x80, 1, bytes(range(40)))[:-10]  # cut short
    second = encode_frame(Cmd.STATS | 0x80, 2, bytes(16))
    events = decode_all(first + second)
    assert errors(events), "a truncated frame must be reported"
    assert events[-1] == Frame(Cmd.STATS | 0x80, 2, bytes(16))


def test_truncated_frame_alone_stays_pending() -> None:
    dec = FrameDecoder()
    assert dec.feed(encode_frame(Cmd.HELLO | 0x80, 1, b"abc")[:-1]) == []
    assert dec.pending > 0


def test_garbage_before_sync_is_reported_once() -> None:
    events = decode_all(b"\x00\xa5\xff noise" + encode_frame(Msg.BOOT, 0, b"p=1\n"))
    assert [e.details["kind"] for e in errors(events)] == ["garbage"]
    assert events[-1].type == Msg.BOOT


@given(st.lists(frames_st, min_size=1, max_size=4), st.data())
@settings(max_examples=300, deadline=None)
def test_every_single_byte_corruption_is_detected(frames: list[Frame], data: st.DataObject) -> None:
    raw = bytearray(b"".join(f.encode() for f in frames))
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] ^= data.draw(st.integers(1, 255))
    chunk = data.draw(st.sampled_from([None, 1, 5, 64]))
    events = decode_all(bytes(raw), chunk)
    decoded = [e for e in events if isinstance(e, Frame)]
    assert all(f in frames for f in decoded), "a corrupted frame was accepted"
    assert errors(events), "a corrupted byte went unreported"


@given(st.binary(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_decoder_never_raises_on_noise(noise: bytes) -> None:
    events = decode_all(noise, 7, max_payload=512)
    assert all(isinstance(e, (Frame, ProtocolError)) for e in events)


def test_hello_parse_and_missing_field() -> None:
    text = ("proto=2\nmodel=m\nhash=h\nboard=m4\ncore=cortex-m4\ncounter=systick\ncounter_hz=25\n"
            "overhead_ticks=3\nhook_ticks=0\narena=0\nstack=8\ninput=4\noutput=4\nlayers=1\nmax_payload=256\n"
            "profile=0\nsemihosting=1\nextra=yes\n")
    hello = Hello.parse(text.encode())
    assert (hello.board, hello.input_bytes, hello.max_payload, hello.fields["extra"]) == ("m4", 4, 256, "yes")
    with pytest.raises(ProtocolError, match="lacks 'hash'"):
        Hello.parse(text.replace("hash=h\n", "").encode())
    with pytest.raises(ProtocolError, match="protocol 1"):
        Hello.parse(text.replace("proto=2", "proto=1").encode())


def test_fault_payload_decoding_names_bits() -> None:
    regs = [6, 0, 1, 2, 3, 12, 0x1235, 0x2000_0100, 0x0100_0000, 0x0001_0000, 0, 0, 0, 0x2000_1000, 0xFFFF_FFF9, 1]
    err = decode_fault(struct.pack("<16I", *regs), None, "INVOKE (seq 4)")
    assert isinstance(err, DeviceFault)
    assert err.details["exception"] == "UsageFault"
    assert err.details["cfsr_bits"] == ["UNDEFINSTR"]
    assert err.details["registers"]["pc"] == 0x2000_0100
    assert "INVOKE (seq 4)" in str(err)
    assert bit_names(0x8200, CFSR_BITS) == ["PRECISERR", "BFARVALID"]


def test_flush_reports_truncation_and_finds_the_frame_behind_it() -> None:
    cut = encode_frame(Cmd.READ | 0x80, 4, bytes(200))[:50]  # reply cut short by a crash...
    fault = encode_frame(Msg.FAULT, 0, bytes(64))  # ...then the FAULT frame, then silence
    dec = FrameDecoder()
    assert dec.feed(cut + fault) == []  # still waiting for the 200-byte payload
    events = dec.flush()
    assert [e.details["kind"] for e in errors(events)] == ["truncated"]
    assert events[-1] == Frame(Msg.FAULT, 0, bytes(64)) and dec.pending == 0


def test_link_transcript_keeps_the_last_bytes_in_order() -> None:
    from harness.link import Transcript

    t = Transcript(limit=100)
    t.add("<", bytes(range(90)))
    t.add(">", b"\xa5\x5a\x01")
    t.add("<", b"xyz" * 5)
    assert t.total == {"<": 105, ">": 3}
    lines = t.tail(1000).splitlines()
    assert lines[0].startswith("  < 08 09")  # 108 bytes seen, the oldest 8 dropped (100-byte limit)
    assert lines[-2] == "  > a5 5a 01" and lines[-1].startswith("  < 78 79 7a")
