"""Boards on another host: the serial half for real (an RFC 2217 server on loopback in front of
QEMU's UART, the harness connecting with an `rfc2217://` URL as a lab's board file would name
it), and the board-file checks of remote probes and ports (the probe half needs a probe server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _device_util import build, echo_reference
from rfc2217_loopback import Rfc2217Loopback

from harness.backends.qemu import QemuBackend
from harness.boards import load_board
from harness.device import open_device
from harness.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
VECTOR = bytes(range(256)) + bytes(range(234))  # the echo model takes 490 bytes


def test_device_over_rfc2217_in_front_of_qemu_uart() -> None:
    board = load_board("m4")
    fw = build(board, "echo")
    servers: list[Rfc2217Loopback] = []

    def via_rfc2217(url: str) -> str:
        servers.append(Rfc2217Loopback(url))
        return servers[-1].url

    be = QemuBackend(board, fw.elf, connect_via=via_rfc2217)
    try:
        with open_device(board, fw.elf, timeout=30, backend=be) as dev:
            assert dev.session.link.url.startswith("rfc2217://127.0.0.1:")
            outs = [dev.invoke(VECTOR) for _ in range(2)]
            assert [o for o, _ in outs] == [echo_reference(VECTOR, c) for c in (0, 1)]
            assert outs[0][1] == outs[1][1], "counts are the device's, whatever carries the bytes"
        assert servers and servers[0].negotiated.is_set(), "the client spoke RFC 2217 to the server"
    finally:
        for s in servers:
            s.close()


def _pyocd_board(tmp_path: Path, **pyocd: str) -> Path:
    text = (REPO / "boards/nucleo-g071rb.toml").read_text().split("[twin]")[0]
    lines = "".join(f'{k} = "{v}"\n' for k, v in pyocd.items())
    path = tmp_path / "nucleo-g071rb.toml"
    path.write_text(text.replace('[pyocd]\n', '[pyocd]\n' + lines))
    return path


def test_remote_probe_and_serial_are_accepted(tmp_path: Path) -> None:
    board = load_board(_pyocd_board(tmp_path, probe="remote:lab-host:5555", serial="rfc2217://lab-host:4000"))
    assert (board.settings.probe, board.settings.serial) == ("remote:lab-host:5555", "rfc2217://lab-host:4000")


@pytest.mark.parametrize(("fields", "message"), [
    ({"probe": "remote:lab-host"}, r"pyocd.probe'.*remote:HOST:PORT"),
    ({"probe": "remote:lab-host:5555"}, r"pyocd.serial'.*missing: a remote probe"),
    ({"serial": "rfc2217://lab-host"}, r"pyocd.serial'.*rfc2217://HOST:PORT"),
])
def test_bad_remote_fields_name_the_field(tmp_path: Path, fields: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_board(_pyocd_board(tmp_path, **fields))
