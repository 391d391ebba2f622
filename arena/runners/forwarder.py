"""The gateway forwarder, run inside the sandbox: 127.0.0.1:<port> (the sandbox's own loopback) -> a unix socket.

Standard library only, for Debian's /usr/bin/python3 (the sandbox has no other Python it can count on).
Usage: python3 forwarder.py SOCKET PORT READY_FILE. READY_FILE is written once it listens; each connection is
relayed byte for byte both ways (HTTP, streaming included) until either side closes.
"""

import contextlib
import socket
import sys
import threading


def pump(src: socket.socket, dst: socket.socket) -> None:
    """Copy src to dst until src ends, then half-close both ways."""
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                sock.shutdown(how)


def _relay(client: socket.socket, path: str) -> None:
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(path)
    except OSError as e:
        reply = f"gateway socket {path} refused the connection: {e}".encode()
        head = f"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: {len(reply)}\r\n"
        client.sendall(head.encode() + b"connection: close\r\n\r\n" + reply)
        client.close()
        return
    splice(client, upstream)


def splice(client: socket.socket, upstream: socket.socket) -> None:
    """Relay both ways until both sides are done, then close both (tests/fakes/unix_relay.py splices with it too)."""
    back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    back.start()
    pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def main(path: str, port: int, ready: str) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(64)
    with open(ready, "w") as f:
        f.write(str(server.getsockname()[1]))
    while True:
        client, _ = server.accept()
        threading.Thread(target=_relay, args=(client, path), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
