"""Alert destinations as real HTTP servers on a thread (a webhook receiver, a Slack-shaped receiver), Django's
locmem mail, and helpers that make runs and results through the real services."""

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from catalog import services as catalog_services
from tests.catalog.conftest import small_spec
from workflows import pipeline_spec
from workflows.registration import register_pipeline

DOCS = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def documented_verifier():
    """The verification snippet of docs/alerts.md, run as written: the receivers' tests use the documented code."""
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 (our own documentation)
    return namespace["verify_signature"]


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Sink:
    """A local HTTP receiver: records every POST and answers with `statuses` in turn (the last one repeats)."""

    statuses: list = field(default_factory=lambda: [200])
    location: str = ""
    answer: bytes = b"ok"
    received: list = field(default_factory=list)

    def start(self):
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                sink.received.append(Received(self.path, dict(self.headers), self.rfile.read(length)))
                index = min(len(sink.received), len(sink.statuses)) - 1
                self.send_response(sink.statuses[index])
                if sink.location:
                    self.send_header("Location", sink.location)
                self.send_header("Content-Length", str(len(sink.answer)))
                self.end_headers()
                self.wfile.write(sink.answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/dataxpipe?token=abc123tokenvalue"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback_allowed(settings):
    """The operator opens loopback (the local sinks); every other rule of the egress policy still holds."""
    settings.DATAXPIPE_ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture
def make_sink():
    sinks = []

    def make(**kwargs) -> Sink:
        sink = Sink(**kwargs).start()
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.stop()


@pytest.fixture
def admin_client(make_client):
    """make_client (tests/conftest.py) under the name these tests read best with: rules need the admin role."""
    return make_client


@pytest.fixture
def pipeline_of():
    def make(organization, name="orders_sync"):
        register_pipeline(organization=organization, spec=pipeline_spec.parse(small_spec(name)))
        return organization.pipelines.get(name=name)

    return make


@pytest.fixture
def fail_run():
    def fail(organization, pipeline, run_id):
        return catalog_services.apply_run_event(
            organization=organization, pipeline=pipeline, status="failed", run_id=run_id
        ).run

    return fail
