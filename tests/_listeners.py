"""Which network sockets a process tree listens on (Linux /proc), for tests/test_no_listeners.py."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from _device_util import processes


def process_tree(root: int) -> set[int]:
    """`root` and all its descendants (by parent pid)."""
    children: dict[int, list[int]] = {}
    for pid, _, ppid in processes():
        children.setdefault(ppid, []).append(pid)
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo += children.get(pid, [])
    return tree


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _address(hex_addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw[::-1])
    # IPv6: four 32-bit words, each in host (little-endian) order
    return ipaddress.IPv6Address(b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))


def listening(pids: set[int]) -> list[tuple[str, str, int]]:
    """(protocol, address, port) of every TCP socket in LISTEN and every bound UDP socket the
    processes hold, read from /proc/<pid>/net/{tcp,tcp6,udp,udp6}."""
    found = []
    for pid in pids:
        inodes = _socket_inodes(pid)
        if not inodes:
            continue
        for proto, wanted_state in (("tcp", "0A"), ("tcp6", "0A"), ("udp", "07"), ("udp6", "07")):
            try:
                lines = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if fields[3] == wanted_state and int(fields[9]) in inodes:
                    host, port = fields[1].split(":")
                    found.append((proto, str(_address(host)), int(port, 16)))
    return sorted(set(found))


def reachable_from_outside(pids: set[int]) -> list[tuple[str, str, int]]:
    """The listening sockets not bound to a loopback address."""
    out = []
    for proto, host, port in listening(pids):
        addr = ipaddress.ip_address(host)
        mapped = getattr(addr, "ipv4_mapped", None)
        if not (addr.is_loopback or (mapped is not None and mapped.is_loopback)):
            out.append((proto, host, port))
    return out
