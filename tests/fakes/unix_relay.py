"""A stand-in for the LLM gateway's unix socket: relays each connection to a TCP server (a fake upstream).

The runners' tests need a socket to mount into the sandbox before the real gateway (arena.gateway) is wired in;
this one is byte-for-byte, so what a CLI sends is what the fake upstream receives. `with UnixRelay(dir, port)`.
"""

import contextlib
import os
import socket
import threading
from pathlib import Path

from arena.runners.forwarder import splice


class UnixRelay:
    """Listens on `<directory>/gateway.sock` (world-connectable, as the gateway's must be) -> 127.0.0.1:`port`."""

    def __init__(self, directory: Path, port: int):
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o755)  # the sandbox's uid must traverse it
        self.path = directory / "gateway.sock"
        self.port = port
        self.connections = 0
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        os.chmod(self.path, 0o777)  # connect() needs write permission on the socket
        self._server.listen(64)
        self._thread = threading.Thread(target=self._serve, name="unix-relay", daemon=True)

    def __enter__(self) -> "UnixRelay":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        splice(client, socket.create_connection(("127.0.0.1", self.port)))
