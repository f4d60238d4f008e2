"""A small RFC 2217 server, bound to 127.0.0.1 only, in front of another serial URL (an
emulator's UART): what ser2net or pyserial's rfc2217_server do on a lab host, so the harness's
`rfc2217://HOST:PORT` serial ports are tested for real (tests/test_remote_serial.py)."""

from __future__ import annotations

import socket
import threading

import serial
import serial.rfc2217


class _Writer:
    """PortManager writes its telnet replies with `.write()`."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn

    def write(self, data: bytes) -> None:
        self.conn.sendall(data)


class Rfc2217Loopback:
    """Serve `target_url` (e.g. socket://127.0.0.1:N) to one RFC 2217 client at a time."""

    def __init__(self, target_url: str) -> None:
        self.target_url = target_url
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.url = f"rfc2217://127.0.0.1:{self.listener.getsockname()[1]}"
        self.negotiated = threading.Event()  # set once the client's option negotiation reached the port manager
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        port = serial.serial_for_url(self.target_url, timeout=0.05)
        manager = serial.rfc2217.PortManager(port, _Writer(conn))
        pump = threading.Thread(target=self._device_to_client, args=(port, conn, manager), daemon=True)
        pump.start()
        try:
            while not self._stop.is_set():
                data = conn.recv(4096)
                if not data:
                    break
                payload = b"".join(manager.filter(data))  # telnet/RFC 2217 commands answered here
                self.negotiated.set()
                if payload:
                    port.write(payload)
        except OSError:
            pass
        finally:
            self._stop.set()
            pump.join(timeout=2)
            port.close()
            conn.close()

    def _device_to_client(self, port: serial.SerialBase, conn: socket.socket,
                          manager: serial.rfc2217.PortManager) -> None:
        try:
            while not self._stop.is_set():
                data = port.read(4096)
                if data:
                    conn.sendall(b"".join(manager.escape(data)))
        except (OSError, serial.SerialException):
            self._stop.set()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(timeout=3)
