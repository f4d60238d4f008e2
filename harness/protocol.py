"""Host side of the wire protocol (spec: docs/protocol.md; device side: firmware/runtime/main.c).

Why binary frames with a header check and a CRC: a flipped byte must never turn into a wrong
output or a silent hang. The header check catches a corrupted length before the receiver
waits for bytes that never come; the CRC-32 catches payload corruption; sequence numbers
catch stale or duplicated replies. `FrameDecoder` reports every such event as a
`ProtocolError` value (it never raises, so it can resync and carry on), and `DeviceSession`
turns them into retries or exceptions.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Protocol

from harness.errors import DeviceError, DeviceTimeout, HilError, ProtocolError
from harness.faults import decode_fault

PROTOCOL_VERSION = 2
SYNC = b"\xa5\x5a"
HEADER_BYTES = 7
TRAILER_BYTES = 4
MAX_PAYLOAD_LIMIT = 0xFFFF
REPLY = 0x80
FAULT_EXIT_CODE = 0x7A  # HIL_EXIT_FAULT in firmware/include/hil.h


class Cmd(IntEnum):
    """Host -> device commands; the device answers with `cmd | 0x80`."""

    HELLO = 0x01
    LOAD = 0x02
    INVOKE = 0x03
    READ = 0x04
    RESET_STATE = 0x05
    STATS = 0x06
    PROFILE = 0x07
    RESULT = 0x08
    MEM_INVOKE = 0x09  # memory transport (harness/transport.py): INVOKE + mailbox CRCs
    MAILBOX = 0x0A
    MAILBOX_FILES = 0x0B  # emulators: semihosting files that fill / drain the mailbox


class Msg(IntEnum):
    """Device -> host frames that are not replies."""

    BOOT = 0x70
    ERROR = 0x7E
    FAULT = 0x7F


class ErrCode(IntEnum):
    """First payload byte of an ERROR frame."""

    BAD_HEADER = 1
    BAD_CRC = 2
    TOO_LONG = 3
    UNKNOWN_CMD = 4
    BAD_ARGS = 5
    NO_PROFILE = 6


# count_flags bits (INVOKE/RESULT and PROFILE replies)
COUNT_UNSURE = 0x1  # HIL_COUNT_UNSURE: the counter saw a wrap it cannot vouch for

_RESULT = struct.Struct("<iQIII")  # status, ticks, output_len, invokes, count_flags
_PROFILE_HEAD = struct.Struct("<HHHI")  # total_layers, first_layer, count, count_flags

# Device rejected our frame as corrupt: resending it is safe for every command.
_TRANSPORT_ERRORS = (ErrCode.BAD_HEADER, ErrCode.BAD_CRC, ErrCode.TOO_LONG)


def type_name(t: int) -> str:
    """Readable name of a frame type, for messages."""
    for enum in (Cmd, Msg):
        try:
            return enum(t).name
        except ValueError:
            pass
    if t & REPLY:
        try:
            return Cmd(t & ~REPLY).name + "_REPLY"
        except ValueError:
            pass
    return f"0x{t:02x}"


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""

    def encode(self) -> bytes:
        return encode_frame(self.type, self.seq, self.payload)


def encode_frame(ftype: int, seq: int, payload: bytes = b"") -> bytes:
    """One frame: sync, type, seq, length, header check, payload, CRC-32 (LE)."""
    if not 0 <= ftype <= 0xFF or not 0 <= seq <= 0xFF:
        raise ValueError(f"frame type {ftype} / seq {seq} out of range 0..255")
    if len(payload) > MAX_PAYLOAD_LIMIT:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_LIMIT}")
    head = bytes((ftype, seq, len(payload) & 0xFF, len(payload) >> 8))
    check = 0xFF ^ head[0] ^ head[1] ^ head[2] ^ head[3]
    return SYNC + head + bytes((check,)) + payload + struct.pack("<I", zlib.crc32(head + payload))


DecodeEvent = Frame | ProtocolError


class FrameDecoder:
    """Streaming decoder: feed bytes, get frames and errors; resyncs on the next sync bytes.

    Garbage between frames is reported once per run (not after an error, where skipping to
    the next sync is the expected resync). A frame longer than `max_payload` is rejected
    from its header alone.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD_LIMIT) -> None:
        self.max_payload = max_payload
        self._buf = bytearray()
        self._garbage = 0
        self._resyncing = False
        self.errors = 0

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()
        self._garbage = 0
        self._resyncing = False

    def _error(self, events: list[DecodeEvent], kind: str, message: str, **details: object) -> None:
        self._flush_garbage(events)
        self.errors += 1
        self._resyncing = True
        events.append(ProtocolError(message, kind=kind, **details))
        del self._buf[:1]  # resync: look for the next sync after this one

    def _flush_garbage(self, events: list[DecodeEvent]) -> None:
        if self._garbage and not self._resyncing:
            self.errors += 1
            events.append(
                ProtocolError(f"{self._garbage} byte(s) outside any frame skipped", kind="garbage", skipped=self._garbage)
            )
        self._garbage = 0

    def flush(self) -> list[DecodeEvent]:
        """End of stream: report a pending partial frame as truncated and decode what follows
        it (e.g. a FAULT frame sent after a reply was cut short)."""
        events: list[DecodeEvent] = []
        while True:
            events += self.feed(b"")
            if not self._buf:
                return events
            self._error(events, "truncated", f"truncated frame: {len(self._buf)} byte(s) pending at end of stream")

    def feed(self, data: bytes) -> list[DecodeEvent]:
        """Consume `data`; return the frames and errors it completed, in stream order."""
        self._buf += data
        events: list[DecodeEvent] = []
        buf = self._buf
        while True:
            i = buf.find(SYNC)
            if i < 0:
                keep = 1 if buf[-1:] == SYNC[:1] else 0
                self._garbage += len(buf) - keep
                del buf[: len(buf) - keep]
                break
            if i:
                self._garbage += i
                del buf[:i]
            if len(buf) < HEADER_BYTES:
                break
            ftype, seq, lo, hi, check = buf[2], buf[3], buf[4], buf[5], buf[6]
            if 0xFF ^ ftype ^ seq ^ lo ^ hi != check:
                self._error(events, "header", f"bad header check in frame header {bytes(buf[:7]).hex(' ')}")
                continue
            n = lo | hi << 8
            if n > self.max_payload:
                self._error(
                    events, "length",
                    f"frame {type_name(ftype)} seq {seq} announces {n} payload bytes, more than the limit {self.max_payload}",
                )
                continue
            total = HEADER_BYTES + n + TRAILER_BYTES
            if len(buf) < total:
                break
            payload = bytes(buf[HEADER_BYTES : HEADER_BYTES + n])
            (crc,) = struct.unpack_from("<I", buf, HEADER_BYTES + n)
            if zlib.crc32(bytes(buf[2:6]) + payload) != crc:
                self._error(events, "crc", f"CRC mismatch in frame {type_name(ftype)} seq {seq} ({n} payload bytes)")
                continue
            self._flush_garbage(events)
            self._resyncing = False
            events.append(Frame(ftype, seq, payload))
            del buf[:total]
        self._flush_garbage(events)
        return events


# ---------------------------------------------------------------------------------------------
# Decoded payloads


@dataclass(frozen=True)
class Hello:
    """Firmware identity from BOOT/HELLO (key=value text); unknown keys stay in `fields`."""

    proto: int
    model: str
    hash: str
    board: str
    core: str
    counter: str
    counter_hz: int
    overhead_ticks: int
    hook_ticks: int  # profile builds: one empty layer's hook cycle (0 otherwise)
    arena: int
    stack: int
    input_bytes: int
    output_bytes: int
    layers: int
    max_payload: int
    profile: bool
    semihosting: bool
    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, payload: bytes) -> Hello:
        try:
            text = payload.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"HELLO payload is not ASCII key=value text: {payload[:60]!r}") from exc
        fields: dict[str, str] = {}
        for line in text.splitlines():
            if line:
                key, sep, value = line.partition("=")
                if not sep:
                    raise ProtocolError(f"HELLO line {line!r} is not key=value")
                fields[key] = value

        def num(key: str) -> int:
            try:
                return int(fields[key])
            except KeyError:
                raise ProtocolError(f"HELLO lacks '{key}' (got keys {sorted(fields)}); firmware and host disagree") from None
            except ValueError:
                raise ProtocolError(f"HELLO field {key}={fields[key]!r} is not an integer") from None

        def text_field(key: str) -> str:
            if key not in fields:
                raise ProtocolError(f"HELLO lacks '{key}' (got keys {sorted(fields)}); firmware and host disagree")
            return fields[key]

        hello = cls(
            proto=num("proto"), model=text_field("model"), hash=text_field("hash"), board=text_field("board"),
            core=text_field("core"), counter=text_field("counter"), counter_hz=num("counter_hz"),
            overhead_ticks=num("overhead_ticks"), hook_ticks=num("hook_ticks"), arena=num("arena"), stack=num("stack"),
            input_bytes=num("input"), output_bytes=num("output"), layers=num("layers"),
            max_payload=num("max_payload"), profile=bool(num("profile")), semihosting=bool(num("semihosting")),
            fields=fields,
        )
        if hello.proto != PROTOCOL_VERSION:
            raise ProtocolError(
                f"firmware speaks protocol {hello.proto}, host speaks {PROTOCOL_VERSION}: rebuild the firmware"
            )
        if hello.max_payload < 8:
            raise ProtocolError(f"firmware announces max_payload={hello.max_payload}, too small to be usable")
        return hello


@dataclass(frozen=True)
class Invocation:
    """One inference: output bytes and raw counter ticks between the two counter reads
    (64-bit on the device); `count_flags` has COUNT_UNSURE when the device cannot vouch for them."""

    output: bytes
    ticks: int
    status: int = 0
    index: int = 0
    count_flags: int = 0

    @property
    def count_unsure(self) -> bool:
        return bool(self.count_flags & COUNT_UNSURE)


@dataclass(frozen=True)
class LayerTicks:
    """PROFILE: the last inference's raw ticks per layer and its count flags."""

    ticks: list[int]
    count_flags: int = 0

    @property
    def count_unsure(self) -> bool:
        return bool(self.count_flags & COUNT_UNSURE)


@dataclass(frozen=True)
class Stats:
    """From the painted stack: `stack_high_water > stack_size` means it overflowed into the
    painted guard zone below the stack region (`guard_bytes` of it)."""

    stack_high_water: int
    stack_size: int
    invokes: int
    bad_frames: int
    guard_bytes: int = 0

    @property
    def overflowed(self) -> bool:
        return self.stack_high_water > self.stack_size


# ---------------------------------------------------------------------------------------------
# Session


class LinkLike(Protocol):
    def write(self, data: bytes) -> None: ...
    def read(self, max_bytes: int = 4096, timeout: float | None = None) -> bytes: ...
    def drain(self, quiet: float = 0.05, limit: float = 1.0) -> bytes: ...
    def transcript_tail(self, nbytes: int = 128) -> str: ...


class DeviceSession:
    """Commands over one link. One implementation for every backend.

    Transport errors (corrupt frames either way) are retried `retries` times after a
    resync; INVOKE is never run twice by a retry (RESULT tells whether it already ran).
    """

    def __init__(self, link: LinkLike, *, elf: str | Path | None = None, timeout: float = 10.0,
                 retries: int = 2) -> None:
        self.link = link
        self.elf = str(elf) if elf is not None else None
        self.timeout = timeout
        self.retries = retries
        self.decoder = FrameDecoder()
        self._events: list[DecodeEvent] = []
        self._seq = 0
        self.last_command: str | None = None
        self.boot: Hello | None = None
        self._hello: Hello | None = None
        self._invokes: int | None = None
        self.count_flags = 0  # of the last INVOKE's count (COUNT_UNSURE)
        self.retried = 0
        self._timeout_used = timeout
        self.last_run_reply: bytes | None = None

    # -- low level --------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = self._seq % 255 + 1  # 1..255; 0 is for unsolicited frames
        return self._seq

    def _salvage(self, events: list[DecodeEvent]) -> None:
        """Raise for a FAULT (or BOOT) among frames that are otherwise being thrown away."""
        for ev in events:
            if isinstance(ev, Frame) and ev.type == Msg.FAULT:
                raise decode_fault(ev.payload, self.elf, self.last_command)
            if isinstance(ev, Frame) and ev.type == Msg.BOOT:
                raise self._with_transcript(ProtocolError(
                    f"device rebooted while {self.last_command} was outstanding (BOOT frame received)",
                    kind="reboot"))

    def _next_event(self, deadline: float, waiting_for: str) -> DecodeEvent:
        while not self._events:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._salvage(self.decoder.flush())
                pending = f"; {self.decoder.pending} byte(s) of an incomplete frame pending" if self.decoder.pending else ""
                raise DeviceTimeout(
                    f"no {waiting_for} within {self._timeout_used:.1f} s; last command sent: "
                    f"{self.last_command or 'none'}{pending}. The firmware hung, crashed silently or the link is "
                    f"wrong.\nLink transcript (tail):\n{self.link.transcript_tail()}",
                    last_command=self.last_command, pending=self.decoder.pending,
                )
            try:
                data = self.link.read(4096, timeout=remaining)
            except HilError:  # the link closed: whatever arrived before may explain why
                self._salvage(self.decoder.flush())
                raise
            if data:
                self._events.extend(self.decoder.feed(data))
        return self._events.pop(0)

    def check_unsolicited(self) -> None:
        """Without blocking: raise for a FAULT or BOOT frame the device sent while the host was
        not waiting on the link (the memory doorbell); other bytes are dropped."""
        data = self.link.read(4096, timeout=0)
        if data:
            self._salvage(self.decoder.feed(data))

    def _with_transcript(self, err: HilError) -> HilError:
        err.args = (f"{err}; last command sent: {self.last_command or 'none'}.\n"
                    f"Link transcript (tail):\n{self.link.transcript_tail()}",)
        return err

    def _exchange(self, cmd: Cmd, payload: bytes, timeout: float) -> Frame:
        """Send one command and return its reply frame (no retries)."""
        seq = self._next_seq()
        name = type_name(cmd)
        self.last_command = f"{name} (seq {seq})"
        self._timeout_used = timeout
        self.link.write(encode_frame(cmd, seq, payload))
        deadline = time.monotonic() + timeout
        while True:
            ev = self._next_event(deadline, f"reply to {name} (seq {seq})")
            if isinstance(ev, ProtocolError):
                raise self._with_transcript(ev)
            if ev.type == Msg.FAULT:
                raise decode_fault(ev.payload, self.elf, self.last_command)
            if ev.type == Msg.BOOT:
                raise self._with_transcript(ProtocolError(
                    f"device rebooted while {name} (seq {seq}) was outstanding (BOOT frame received)", kind="reboot"))
            if ev.type == Msg.ERROR:
                code = ev.payload[0] if ev.payload else 0
                text = ev.payload[1:].decode("ascii", "replace")
                if code in _TRANSPORT_ERRORS:
                    raise self._with_transcript(ProtocolError(
                        f"device rejected {name} (seq {seq}) as corrupt: {text} (error {code})",
                        kind="rejected", code=code))
                if ev.seq != seq:
                    raise self._with_transcript(ProtocolError(
                        f"ERROR for seq {ev.seq} while waiting for seq {seq}: {text}", kind="sequence"))
                raise DeviceError(f"device refused {name}: {text} (error {code})", code=code, command=name)
            if ev.seq != seq:
                raise self._with_transcript(ProtocolError(
                    f"out-of-sequence {type_name(ev.type)}: seq {ev.seq}, expected {seq}", kind="sequence"))
            if ev.type != cmd | REPLY:
                raise self._with_transcript(ProtocolError(
                    f"unexpected {type_name(ev.type)} in reply to {name} (seq {seq})", kind="unexpected"))
            return ev

    def _resync(self) -> None:
        """Drop everything in flight before a retry, but not a FAULT or BOOT hidden in it:
        a crash while a reply was being sent must still surface with its registers."""
        queued, self._events = self._events, []
        self._salvage(queued + self.decoder.feed(self.link.drain()) + self.decoder.flush())
        self.decoder.reset()

    probe_timeout = 1.0

    def _alive_after_timeout(self) -> bool:
        """After a silent reply: was a byte lost on the wire, or is the device really stuck?

        Zero bytes complete any frame the device is still waiting for (it rejects it and
        resyncs), then a HELLO probe decides. A hung device costs `probe_timeout` more.
        """
        last = self.last_command
        max_payload = self._hello.max_payload if self._hello else MAX_PAYLOAD_LIMIT
        try:
            self.link.write(bytes(HEADER_BYTES + max_payload + TRAILER_BYTES))
            self._resync()
            self._exchange(Cmd.HELLO, b"", min(self.probe_timeout, self.timeout))
            self._resync()
            return True
        except (DeviceTimeout, ProtocolError):
            return False
        finally:
            self.last_command = last

    def request(self, cmd: Cmd, payload: bytes = b"", *, timeout: float | None = None) -> Frame:
        """Send `cmd` and return its reply; corrupt frames and lost bytes are retried after a resync."""
        attempt = 0
        while True:
            try:
                return self._exchange(cmd, payload, self.timeout if timeout is None else timeout)
            except ProtocolError as exc:
                if attempt >= self.retries or exc.details.get("kind") == "reboot":
                    raise  # after a reboot the device lost its state: resending would hide that
                attempt += 1
                self.retried += 1
                self._resync()
            except DeviceTimeout:
                if attempt >= self.retries or not self._alive_after_timeout():
                    raise
                attempt += 1
                self.retried += 1

    # -- commands ---------------------------------------------------------------------------

    def wait_boot(self, timeout: float = 10.0) -> Hello:
        """Wait for the unsolicited BOOT frame the firmware sends at start."""
        self.last_command = "(waiting for BOOT)"
        self._timeout_used = timeout
        deadline = time.monotonic() + timeout
        while True:
            ev = self._next_event(deadline, "BOOT frame")
            if isinstance(ev, ProtocolError):
                continue  # line noise before boot is tolerated; the BOOT frame itself is CRC-checked
            if ev.type == Msg.FAULT:
                raise decode_fault(ev.payload, self.elf, "boot")
            if ev.type == Msg.BOOT:
                self.boot = Hello.parse(ev.payload)
                self._hello = self.boot
                self._invokes = 0
                return self.boot

    def hello(self, *, timeout: float | None = None) -> Hello:
        self._hello = Hello.parse(self.request(Cmd.HELLO, timeout=timeout).payload)
        return self._hello

    def _identity(self) -> Hello:
        return self._hello or self.hello()

    def load(self, data: bytes) -> None:
        """Write the model input, chunked to the firmware's max payload."""
        ident = self._identity()
        if len(data) != ident.input_bytes:
            raise DeviceError(f"input is {len(data)} bytes, model '{ident.model}' expects {ident.input_bytes}")
        chunk = ident.max_payload - 4
        for off in range(0, len(data), chunk):
            self.request(Cmd.LOAD, struct.pack("<I", off) + data[off : off + chunk])

    def _result(self, frame: Frame) -> tuple[int, int, int, int, int]:
        """(status, ticks, output length, invokes, count flags) of an INVOKE/RESULT reply."""
        if len(frame.payload) < _RESULT.size:
            raise self._with_transcript(ProtocolError(
                f"INVOKE reply has {len(frame.payload)} bytes, expected {_RESULT.size}"))
        status, ticks, out_len, index, flags = _RESULT.unpack_from(frame.payload)
        return status, ticks, out_len, index, flags

    def run(self, *, timeout: float | None = None, cmd: Cmd = Cmd.INVOKE,
            payload: bytes = b"") -> tuple[int, int, int]:
        """Run the model once on the loaded input: (status, ticks, output length); the count's
        flags are kept in `count_flags`.

        `cmd` MEM_INVOKE runs the same inference for the memory transport; its reply payload
        is kept in `last_run_reply` (None when the reply was lost and RESULT recovered it)."""
        self.last_run_reply = None
        if self._invokes is None:
            self._invokes = self._result(self.request(Cmd.RESULT))[3]
        expected = self._invokes + 1
        attempt = 0
        while True:
            try:
                frame = self._exchange(cmd, payload, self.timeout if timeout is None else timeout)
                status, ticks, out_len, index, flags = self._result(frame)
                self.last_run_reply = frame.payload
                break
            except (ProtocolError, DeviceTimeout) as exc:
                if attempt >= self.retries or exc.details.get("kind") == "reboot":
                    raise
                if isinstance(exc, DeviceTimeout):
                    if not self._alive_after_timeout():
                        raise  # really hung (or dead): the original timeout names INVOKE
                else:
                    self._resync()
                attempt += 1
                self.retried += 1
                status, ticks, out_len, index, flags = self._result(self.request(Cmd.RESULT))
                if index == expected:
                    break  # it ran; only the reply was lost
        self.record_run(status, index, flags)
        return status, ticks, out_len

    def record_run(self, status: int, index: int, flags: int) -> None:
        """Book an inference however it was started (a frame, or the memory doorbell): its index,
        and its count's flags; a non-zero model status is a DeviceError."""
        self._invokes = index
        if status != 0:
            raise DeviceError(f"hil_model_invoke returned {status} (model '{self._identity().model}')", status=status)
        self.count_flags = flags

    def read_output(self, length: int) -> bytes:
        """Read the output buffer back in chunks of at most max_payload bytes."""
        chunk = self._identity().max_payload
        parts = []
        for off in range(0, length, chunk):
            n = min(chunk, length - off)
            part = self.request(Cmd.READ, struct.pack("<IH", off, n)).payload
            if len(part) != n:
                raise self._with_transcript(ProtocolError(f"READ at {off} returned {len(part)} bytes, asked {n}"))
            parts.append(part)
        return b"".join(parts)

    def invoke(self, data: bytes, *, timeout: float | None = None) -> Invocation:
        """Load `data`, run the model, read the output back."""
        self.load(data)
        status, ticks, out_len = self.run(timeout=timeout)
        return Invocation(output=self.read_output(out_len), ticks=ticks, status=status, index=self._invokes or 0,
                          count_flags=self.count_flags)

    def reset_state(self) -> None:
        self.request(Cmd.RESET_STATE)

    def stats(self) -> Stats:
        payload = self.request(Cmd.STATS).payload
        if len(payload) < 20:
            raise self._with_transcript(ProtocolError(f"STATS reply has {len(payload)} bytes, expected 20"))
        return Stats(*struct.unpack_from("<5I", payload))

    def profile(self) -> LayerTicks:
        """Per-layer ticks of the last invoke (firmware built with -DHIL_MODEL_PROFILE)."""
        ticks: list[int] = []
        flags = 0
        while True:
            payload = self.request(Cmd.PROFILE, struct.pack("<H", len(ticks))).payload
            if len(payload) < _PROFILE_HEAD.size:
                raise self._with_transcript(ProtocolError(f"PROFILE reply has {len(payload)} bytes"))
            total, start, count, flags = _PROFILE_HEAD.unpack_from(payload)
            if start != len(ticks) or len(payload) != _PROFILE_HEAD.size + 8 * count:
                raise self._with_transcript(ProtocolError(f"PROFILE reply malformed (start {start}, count {count})"))
            ticks.extend(struct.unpack_from(f"<{count}Q", payload, _PROFILE_HEAD.size))
            if len(ticks) >= total or count == 0:
                return LayerTicks(ticks, flags)
