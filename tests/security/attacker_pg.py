"""A fake "attacker" PostgreSQL server on loopback that records what a client sends it.

It speaks the start of PostgreSQL's real wire protocol (v3): it answers an SSLRequest or
GSSENCRequest with 'N', reads the StartupMessage (user, database, options...), asks for a
cleartext password (AuthenticationCleartextPassword) and records the PasswordMessage, then ends
the session with an ErrorResponse. A tenant who could make the catalog connect here would learn
every password the catalog sends; the red-team tests assert that it records none.

`mode="banner"` instead answers every connection with junk bytes, the way a non-PostgreSQL
service on a scanned port would.
"""

import socket
import struct
import threading
from dataclasses import dataclass, field

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


@dataclass
class Attempt:
    startup: dict = field(default_factory=dict)
    password: str | None = None


class AttackerPostgres:
    def __init__(self, mode: str = "password"):
        self.mode = mode
        self.attempts: list[Attempt] = []
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._server.settimeout(0.2)
        self.host, self.port = self._server.getsockname()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()

    @property
    def passwords(self) -> list[str]:
        return [attempt.password for attempt in self.attempts if attempt.password is not None]

    def _serve(self):
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._session, args=(client,), daemon=True).start()

    def _session(self, client: socket.socket):
        client.settimeout(5)
        attempt = Attempt()
        self.attempts.append(attempt)
        try:
            if self.mode == "banner":
                client.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
                return
            payload = _read_startup(client)
            while payload is not None and struct.unpack("!I", payload[:4])[0] in (_SSL_REQUEST, _GSSENC_REQUEST):
                client.sendall(b"N")
                payload = _read_startup(client)
            if payload is None:
                return
            attempt.startup = _startup_parameters(payload[4:])
            client.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
            kind = _read_exact(client, 1)
            if kind != b"p":
                return
            (length,) = struct.unpack("!I", _read_exact(client, 4))
            attempt.password = _read_exact(client, length - 4).rstrip(b"\x00").decode(errors="replace")
            _send_error(client, "28P01", "password authentication failed")
        except (OSError, struct.error, ValueError):
            return
        finally:
            client.close()


def _read_exact(client: socket.socket, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = client.recv(remaining)
        if not chunk:
            raise ValueError("peer closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_startup(client: socket.socket) -> bytes | None:
    try:
        (length,) = struct.unpack("!I", _read_exact(client, 4))
        return _read_exact(client, length - 4)
    except ValueError:
        return None


def _startup_parameters(body: bytes) -> dict:
    parts = body.split(b"\x00")
    return {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts) - 1, 2) if parts[i]}


def _send_error(client: socket.socket, code: str, message: str):
    fields = b"SFATAL\x00" + b"C" + code.encode() + b"\x00" + b"M" + message.encode() + b"\x00\x00"
    client.sendall(b"E" + struct.pack("!I", len(fields) + 4) + fields)
