"""A local fake of HashiCorp Vault's KV v2 HTTP API, for the real hvac client.

Vault cannot run here, so this server speaks its wire protocol: `GET /v1/<mount>/data/<path>` with
`X-Vault-Token`, answering `{"data": {"data": {...}, "metadata": {...}}}`, 403 with
`{"errors": ["permission denied"]}` for a wrong token and 404 with `{"errors": []}` for no secret.
It records every request (path, token), so a test can assert that a refused reference never reached it.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "hvs.test-token-for-the-fake-vault"


class FakeVault:
    def __init__(self, secrets: dict, token: str = TOKEN):
        """`secrets`: {(mount, path): {field: value}}."""
        self.secrets, self.token = secrets, token
        self.requests: list[tuple[str, str | None]] = []
        vault = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                vault.requests.append((self.path, self.headers.get("X-Vault-Token")))
                if self.headers.get("X-Vault-Token") != vault.token:
                    return self._answer(403, {"errors": ["permission denied"]})
                parts = self.path.split("?", 1)[0].split("/")
                if len(parts) < 5 or parts[1] != "v1" or parts[3] != "data":
                    return self._answer(404, {"errors": []})
                secret = vault.secrets.get((parts[2], "/".join(parts[4:])))
                if secret is None:
                    return self._answer(404, {"errors": []})
                metadata = {
                    "created_time": "2025-06-01T00:00:00Z",
                    "deletion_time": "",
                    "destroyed": False,
                    "version": 2,
                }
                return self._answer(
                    200,
                    {
                        "request_id": "r",
                        "lease_id": "",
                        "renewable": False,
                        "lease_duration": 0,
                        "data": {"data": secret, "metadata": metadata},
                        "wrap_info": None,
                        "warnings": None,
                        "auth": None,
                    },
                )

            def _answer(self, code, body):
                payload = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()

    def paths_asked(self) -> list[str]:
        return [path for path, _ in self.requests]
