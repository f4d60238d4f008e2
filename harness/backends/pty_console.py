"""A child process's terminal on a pseudo-terminal: a control channel nobody else can reach.

Why: Renode's monitor server (`--port`) listens on every interface, and the monitor runs Python
and reads host files, so anyone who can reach the host could drive it while a test runs. With
`--console` Renode runs its monitor on its own terminal instead; giving it a pty (not pipes: its
line editor wants a terminal) keeps the channel inside this process. `PtyConsole` offers the
few socket calls the Renode backend uses (sendall, recv, settimeout, close).
"""

from __future__ import annotations

import os
import pty
import select
import termios
import tty


class PtyConsole:
    """The master side of a pty whose slave is a child's stdin/stdout/stderr."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)  # no echo or newline translation by the line discipline: the child's own
        attrs = termios.tcgetattr(self.slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        self._timeout: float | None = None

    def child_started(self) -> None:
        """The child holds its own copy of the slave; ours would keep the pty open after it exits."""
        if self.slave >= 0:
            os.close(self.slave)
            self.slave = -1

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view):]

    def recv(self, size: int) -> bytes:
        """Up to `size` bytes; b"" once the child closed its terminal; TimeoutError if none came."""
        ready, _, _ = select.select([self.master], [], [], self._timeout)
        if not ready:
            raise TimeoutError("no console output")
        try:
            return os.read(self.master, size)
        except OSError:  # EIO: every slave descriptor is closed (the child exited)
            return b""

    def close(self) -> None:
        for fd in (self.master, self.slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self.slave = -1
