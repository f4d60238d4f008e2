"""Corruption on a real wire: QEMU <-> FlipProxy (two real loopback sockets) <-> host session.

Whatever a noisy wire does to single bytes, the session never returns wrong data: a flipped or
inserted byte is detected (header check, CRC, sequence number) and the command is retried after a
resync (INVOKE is never run twice); a wire that stays bad gives a ProtocolError naming the
command once the bounded retries are used up; a lost byte (or a sync byte hit) leaves a frame
incomplete, which ends as a DeviceTimeout naming the command. The decoder-level fuzzing of
drops/inserts at the end complements tests/test_protocol.py (flips, noise).
"""

from __future__ import annotations

import pytest
from _device_util import build, echo_reference, qemu_children
from flipproxy import Fault, FlipProxy
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.device import open_device
from harness.errors import DeviceFault, DeviceTimeout, HilError, ProtocolError
from harness.faults import decode_fault
from harness.protocol import REPLY, SYNC, Cmd, Frame, FrameDecoder, Hello, Msg, encode_frame

pytestmark = pytest.mark.slow

X = bytes(range(245)) * 2  # the echo model's 490-byte input: two LOAD frames, two READ replies
LOAD, INVOKE, READ = (SYNC + bytes((c,)) for c in (Cmd.LOAD, Cmd.INVOKE, Cmd.READ))
INVOKE_REPLY, READ_REPLY = (SYNC + bytes((c | REPLY,)) for c in (Cmd.INVOKE, Cmd.READ))
STALE_REPLY = encode_frame(Cmd.LOAD | REPLY, 200)  # a well-formed reply with a sequence number nobody asked for


@pytest.fixture(scope="module")
def echo_elf():
    return build("m4", "echo").elf


# (id, fault, device-side bad frames, host-side kind of error the decoder/session saw)
SINGLE = [
    ("load-payload-flip", Fault("down", "flip", after=LOAD, offset=20), 1),
    ("load-length-flip", Fault("down", "flip", after=LOAD, offset=4), 1),  # header check
    ("invoke-crc-flip", Fault("down", "flip", after=INVOKE, offset=8), 1),  # INVOKE never ran: run it on retry
    ("load-insert", Fault("down", "insert", after=LOAD, offset=100, data=b"\x5a"), 1),
    ("invoke-reply-flip", Fault("up", "flip", after=INVOKE_REPLY, offset=9), 0),  # it ran: RESULT, no re-run
    ("read-reply-length-flip", Fault("up", "flip", after=READ_REPLY, offset=5, xor=0x01), 0),
    ("read-reply-insert", Fault("up", "insert", after=READ_REPLY, offset=40, data=b"\xa5"), 0),
    ("stale-reply-inserted", Fault("up", "insert", after=INVOKE_REPLY, offset=27, data=STALE_REPLY), 0),
]


@pytest.mark.parametrize("fault,bad_frames", [pytest.param(f, n, id=i) for i, f, n in SINGLE])
def test_single_corruption_is_detected_and_recovered(echo_elf, fault: Fault, bad_frames: int) -> None:
    with FlipProxy([fault]) as proxy, open_device("m4", echo_elf, timeout=5, connect_via=proxy.connect_via) as dev:
        out, _ = dev.invoke(X)
        assert fault.hits, "the corruption never happened: the test would prove nothing"
        assert out == echo_reference(X, 0)
        assert dev.session.retried == 1
        stats = dev.stats()
        assert (stats.invokes, stats.bad_frames) == (1, bad_frames)  # INVOKE ran exactly once
        out, _ = dev.invoke(X)  # the link is clean again
        assert out == echo_reference(X, 1)
    assert qemu_children() == []


@pytest.mark.parametrize("direction", ["down", "up"])
def test_persistent_corruption_gives_protocol_error_naming_the_command(echo_elf, direction: str) -> None:
    """Every frame corrupted (payload byte 1, or the CRC of an empty frame): 1 + retries attempts,
    then a ProtocolError naming the command; the device is still usable once the wire is clean."""
    with FlipProxy() as proxy, open_device("m4", echo_elf, timeout=5, connect_via=proxy.connect_via) as dev:
        fault = proxy.add(Fault(direction, "flip", after=SYNC, offset=8, times=None))
        with pytest.raises(ProtocolError) as info:
            dev.invoke(X)
        retries = dev.session.retries
        assert retries >= 1 and dev.session.retried == retries
        proxy.clear()
        assert dev.stats().invokes == 0  # no INVOKE ever ran: no wrong data could come back
        out, _ = dev.invoke(X)
        assert out == echo_reference(X, 0)
    msg = str(info.value)
    assert "last command sent: LOAD (seq" in msg and "Link transcript" in msg
    if direction == "down":  # the device's ERROR frames name its verdict; one corrupt LOAD per attempt
        assert info.value.details["kind"] == "rejected" and "bad crc" in msg
        assert len(fault.hits) == retries + 1
    else:
        assert info.value.details["kind"] == "crc" and "CRC mismatch in frame LOAD_REPLY" in msg
        assert len(fault.hits) >= retries + 1
    assert qemu_children() == []


@pytest.mark.parametrize("direction,after", [("down", LOAD), ("up", READ_REPLY)])
def test_lost_byte_is_recovered_after_a_probe(echo_elf, direction: str, after: bytes) -> None:
    """A dropped byte leaves a frame one byte short and the receiver waits for it. After the
    reply timeout the host completes the frame with zeros, resyncs, probes with HELLO and resends:
    the right output, one retry, and the device ran the model exactly once."""
    fault = Fault(direction, "drop", after=after, offset=30)
    with FlipProxy([fault]) as proxy, open_device("m4", echo_elf, timeout=1.0, connect_via=proxy.connect_via) as dev:
        out, _ = dev.invoke(X)
        assert out == echo_reference(X, 0)
        assert dev.session.retried == 1
        assert dev.stats().invokes == 1
    assert fault.hits
    assert qemu_children() == []


def test_hung_device_still_times_out_naming_the_command() -> None:
    """The probe does not mask a real hang: the original timeout, naming INVOKE, comes back."""
    with open_device("m4", build("m4", "hang").elf, timeout=1.0) as dev:
        with pytest.raises(DeviceTimeout) as info:
            dev.invoke(bytes(4))
    assert "last command sent: INVOKE (seq" in str(info.value)
    assert qemu_children() == []


STRIDE = 11  # coprime with the frame sizes here, so the flips land on every kind of byte over the frames


def _sync_positions(stream: bytes) -> set[int]:
    out: set[int] = set()
    i = stream.find(SYNC)
    while i >= 0:
        out |= {i, i + 1}
        i = stream.find(SYNC, i + 1)
    return out


@pytest.mark.parametrize("direction", ["down", "up"])
def test_no_single_flip_anywhere_in_an_exchange_returns_wrong_data(echo_elf, direction: str) -> None:
    """Flip one byte at every 11th offset of a whole LOAD/INVOKE/READ exchange, one invoke each,
    on one device: every invoke returns the exact output and ran the model exactly once (the
    device's own invoke counter, read back in STATS, against the host's tally), except that a
    flipped sync byte (the frame then never starts) may time out, and nothing else may."""
    with FlipProxy() as proxy, open_device("m4", echo_elf, timeout=2.0, connect_via=proxy.connect_via) as dev:
        start = proxy.position(direction)
        dev.invoke(X)  # measure one clean exchange
        length = proxy.position(direction) - start
        ran, timeouts = 1, 0  # inferences the host asked for that the device ran
        for k in range(0, length, STRIDE):
            begin = proxy.position(direction)
            fault = proxy.add(Fault(direction, "flip", at=begin + k, xor=0x41))
            try:
                out, _ = dev.invoke(X)
            except DeviceTimeout:
                stream = bytes(proxy.capture[direction])
                assert fault.hits[0] in _sync_positions(stream), f"offset {k}: timeout on a non-sync byte"
                timeouts += 1
                # the failed call ran the model at most once (not at all if LOAD or INVOKE was lost)
                proxy.clear()
                device = dev.stats().invokes
                assert device in (ran, ran + 1), f"offset {k}: {device - ran} inferences for one failed call"
                ran = device
                continue
            finally:
                proxy.clear()
            assert fault.hits == [begin + k]
            ran += 1
            assert dev.stats().invokes == ran, f"offset {k}: the device ran INVOKE {dev.stats().invokes - ran + 1} times"
            assert out == echo_reference(X, ran - 1), f"offset {k}: wrong data returned"
        iterations = len(range(0, length, STRIDE))
        assert dev.session.retried == iterations - timeouts  # every other flip: detected, retried once
    assert qemu_children() == []


# --------------------------------------------------------------------------- decoder fuzzing


frames_st = st.lists(st.builds(Frame, type=st.integers(0, 255), seq=st.integers(0, 255),
                               payload=st.binary(max_size=120)), min_size=1, max_size=4)


@given(frames_st, st.data())
@settings(max_examples=300, deadline=None)
def test_dropped_or_inserted_byte_is_never_accepted(frames: list[Frame], data: st.DataObject) -> None:
    """A stream with one byte removed or one byte added: the decoder never yields a frame that
    was not sent, and always reports something (an error now, or bytes still pending)."""
    raw = bytearray(b"".join(f.encode() for f in frames))
    pos = data.draw(st.integers(0, len(raw) - 1))
    if data.draw(st.booleans()):
        del raw[pos]
    else:
        raw.insert(pos, data.draw(st.integers(0, 255)))
    dec = FrameDecoder()
    events = dec.feed(bytes(raw))
    decoded = [e for e in events if isinstance(e, Frame)]
    assert all(f in frames for f in decoded), "a corrupted frame was accepted"
    detected = any(isinstance(e, ProtocolError) for e in events) or dec.pending > 0
    assert detected, "a lost or added byte went unnoticed"


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_hello_and_fault_payloads_never_crash(payload: bytes) -> None:
    """Whatever a (corrupted but CRC-valid) BOOT/FAULT payload holds: documented errors only."""
    try:
        Hello.parse(payload)
    except ProtocolError:
        pass
    assert isinstance(decode_fault(payload), DeviceFault)


def test_decoder_reports_a_stale_reply_as_a_frame_for_the_session_to_reject() -> None:
    """The sequence check lives in the session: the decoder passes a well-formed stale reply on."""
    events = FrameDecoder().feed(STALE_REPLY + encode_frame(Msg.BOOT, 0, b"x"))
    assert [e.seq for e in events if isinstance(e, Frame)] == [200, 0]
    assert not any(isinstance(e, HilError) for e in events)


def test_connect_via_is_refused_by_a_backend_that_cannot_route_its_link(tmp_path) -> None:
    """A real board's serial port cannot go through the proxy: say so instead of silently
    running the test without the corruption it asked for."""
    from harness.errors import ConfigError

    with FlipProxy() as proxy:
        with pytest.raises(ConfigError, match=r"backend 'pyocd' \(board 'nucleo-l432kc'\) does not take connect_via"):
            with open_device("nucleo-l432kc", tmp_path / "firmware.elf", connect_via=proxy.connect_via):
                pass
