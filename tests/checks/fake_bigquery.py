"""A local stand-in for BigQuery's REST API (no BigQuery emulator runs offline).

It speaks the wire protocol google-cloud-bigquery uses for `query_and_wait`: the OAuth token
exchange of a service account (POST /token), jobs.query (POST /bigquery/v2/projects/P/queries),
getQueryResults (GET .../queries/JOB) and jobs.get (GET .../jobs/JOB). It answers from the
SQL's text and records every request so tests can see labels, byte limits and timeouts.
"""

import functools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@functools.cache
def _private_key_pem() -> str:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def service_account_key(token_uri: str) -> str:
    """A real service-account JSON key (an RSA key made for the test run) whose token endpoint is the fake."""
    pem = _private_key_pem()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "acme-analytics",
            "private_key_id": "test-key-1",
            "private_key": pem,
            "client_email": "checks@acme-analytics.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": token_uri,
        }
    )


def _error(code: int, reason: str, message: str) -> dict:
    status = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}.get(code, "UNKNOWN")
    return {
        "error": {
            "code": code,
            "message": message,
            "status": status,
            "errors": [{"reason": reason, "message": message, "domain": "global"}],
        }
    }


def answer_for(sql: str) -> tuple[int, dict, float]:
    """(HTTP status, body, delay in seconds) for a query, decided by markers in its text."""
    if "slow_table" in sql:
        return 200, {}, 5.0
    if "missing_table" in sql:
        return 404, _error(404, "notFound", "Not found: Table acme-analytics:analytics.missing_table"), 0
    if "huge_table" in sql:
        return (
            400,
            _error(
                400,
                "bytesBilledLimitExceeded",
                "Query exceeded limit for bytes billed: 1000. 10485760 or higher required.",
            ),
            0,
        )
    if "amount < 0" in sql:
        return 200, {"fields": [{"name": "violations", "type": "INTEGER"}], "rows": [["2"]]}, 0
    return 200, {"fields": [{"name": "f0_", "type": "INTEGER"}], "rows": [["0"]]}, 0


class FakeBigQuery:
    def __init__(self):
        self.requests: list[dict] = []
        self.tokens_issued = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path == "/token":
                    fake.tokens_issued += 1
                    self._send(200, {"access_token": "ya29.fake-token", "expires_in": 3600, "token_type": "Bearer"})
                    return
                body = json.loads(raw or b"{}")
                path = self.path.split("?", 1)[0]
                fake.requests.append(
                    {
                        "method": "POST",
                        "path": path,
                        "body": body,
                        "authorization": self.headers.get("Authorization", ""),
                    }
                )
                if not path.endswith("/queries"):
                    self._send(404, _error(404, "notFound", f"Unknown path {path}"))
                    return
                status, answer, delay = answer_for(body.get("query", ""))
                if delay:
                    time.sleep(delay)
                if status != 200:
                    self._send(status, answer)
                    return
                project = path.split("/")[4]
                self._send(
                    200,
                    {
                        "kind": "bigquery#queryResponse",
                        "jobReference": {
                            "projectId": project,
                            "jobId": f"job_{len(fake.requests)}",
                            "location": body.get("location", "US"),
                        },
                        "schema": {"fields": [{**field, "mode": "NULLABLE"} for field in answer["fields"]]},
                        "rows": [{"f": [{"v": value} for value in row]} for row in answer["rows"]],
                        "totalRows": str(len(answer["rows"])),
                        "jobComplete": True,
                        "totalBytesProcessed": "0",
                        "cacheHit": False,
                    },
                )

            def do_GET(self):
                fake.requests.append({"method": "GET", "path": self.path.split("?", 1)[0], "body": None})
                self._send(404, _error(404, "notFound", "Jobs are answered synchronously by this fake."))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def queries(self) -> list[dict]:
        return [request["body"] for request in self.requests if request["path"].endswith("/queries")]
