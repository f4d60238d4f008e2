"""Nothing the harness starts listens where others can reach it: every socket QEMU or Renode
holds while a firmware runs is bound to loopback (read from /proc; Linux only). Renode's monitor
and UART are ptys, QEMU's serial a socket bound to 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys

import pytest
from _device_util import build
from _listeners import listening, process_tree, reachable_from_outside

from harness.backends.qemu import QemuBackend
from harness.backends.renode import INSTALL_HINT, RenodeBackend, find_renode
from harness.boards import load_board
from harness.device import open_device
from harness.errors import ToolchainError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _renode() -> str | None:
    try:
        return find_renode()
    except ToolchainError:
        return None


def test_the_check_sees_a_socket_on_every_interface() -> None:
    """The check can fail: a child listening on 0.0.0.0 is reported, one on 127.0.0.1 is not."""
    code = ("import socket,sys,time\n"
            "a=socket.socket(); a.bind(('0.0.0.0',0)); a.listen()\n"
            "b=socket.socket(); b.bind(('127.0.0.1',0)); b.listen()\n"
            "print(a.getsockname()[1], b.getsockname()[1], flush=True); time.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        open_port, local_port = map(int, child.stdout.readline().split())
        pids = process_tree(child.pid)
        assert ("tcp", "127.0.0.1", local_port) in listening(pids)
        assert reachable_from_outside(pids) == [("tcp", "0.0.0.0", open_port)]
    finally:
        child.kill()
        child.wait()


def test_qemu_listens_on_loopback_only() -> None:
    board = load_board("m4")
    fw = build(board, "echo")
    be = QemuBackend(board, fw.elf)
    with open_device(board, fw.elf, timeout=30, backend=be):
        assert be.process is not None
        pids = process_tree(be.process.pid)
        assert listening(pids), "QEMU's serial socket should be seen (else the check reads nothing)"
        assert reachable_from_outside(pids) == []


@pytest.mark.skipif(_renode() is None, reason=f"Renode not found; {INSTALL_HINT}")
@pytest.mark.slow
@pytest.mark.parametrize("board_name", ["m4-renode", "nucleo-g071rb@twin"])
def test_renode_listens_nowhere_reachable(board_name: str) -> None:
    board = load_board(board_name)
    fw = build(board, "echo")
    be = RenodeBackend(board, fw.elf)
    with open_device(board, fw.elf, timeout=30, boot_timeout=60, backend=be) as dev:
        dev.invoke(bytes(490))
        assert be.process is not None
        pids = process_tree(be.process.pid)
        assert len(pids) >= 2, "the launcher script and mono"
        assert reachable_from_outside(pids) == [], "Renode must not listen on a non-loopback address"
