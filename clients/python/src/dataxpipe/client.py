"""Typed calls for the catalog's API (/api/v1/), one method per endpoint of the API contract.

Every write carries an id chosen here when the caller gives none (a run's `run_id`, a check's
`result_id`), so a retried request after a lost answer is replayed by the server, never doubled.
"""

import time
import uuid
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote

from dataxpipe.config import Settings
from dataxpipe.errors import ApiError, CheckExecutionTimeout
from dataxpipe.transport import RetryPolicy, Transport, parse_retry_after

RunStatus = Literal["queued", "running", "success", "failed", "cancelled"]
FINISHED_RUN_STATUSES = ("success", "failed", "cancelled")
# What an execution resource says while the worker has not finished the check yet.
PENDING_EXECUTION_STATES = frozenset({"queued", "pending", "running", "started", "accepted"})
API = "/api/v1"


def _name(value: str) -> str:
    return quote(str(value), safe="")


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


class Client:
    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        timeout_seconds: float | None = None,
        retry: RetryPolicy | None = None,
        poll_interval_seconds: float = 1.0,
    ):
        if url is None or api_key is None:
            settings = Settings.from_env()
            url, api_key = url or settings.url, api_key or settings.api_key
            timeout_seconds = timeout_seconds or settings.timeout_seconds
        self.timeout_seconds = timeout_seconds or Settings.timeout_seconds
        self.transport = Transport(url, api_key, self.timeout_seconds, retry)
        self.poll_interval_seconds = poll_interval_seconds

    @classmethod
    def from_env(cls, **options) -> "Client":
        """DATAXPIPE_URL, DATAXPIPE_API_KEY and DATAXPIPE_TIMEOUT_SECONDS: what __init__ reads without a URL."""
        return cls(**options)

    def __repr__(self) -> str:
        return f"Client(url={self.transport.base_url!r})"

    def _get(self, path: str, **params):
        return self.transport.request("GET", API + path, params=params).body

    # --- organizations -------------------------------------------------------------------------
    def organization_me(self) -> dict:
        return self._get("/organizations/me")

    # --- pipelines ------------------------------------------------------------------------------
    def register_pipeline(self, spec: dict) -> dict:
        """Idempotent for an unchanged spec; a version bump creates a new version."""
        return self.transport.request("POST", API + "/pipelines/", body=spec).body

    def list_pipelines(self, **filters) -> dict:
        return self._get("/pipelines/", **filters)

    def get_pipeline(self, name: str) -> dict:
        return self._get(f"/pipelines/{_name(name)}")

    def pipeline_runs(self, name: str, **filters) -> dict:
        return self._get(f"/pipelines/{_name(name)}/runs", **filters)

    # --- runs -----------------------------------------------------------------------------------
    def run_event(
        self,
        pipeline: str,
        status: RunStatus,
        run_id: str | None = None,
        *,
        started_at: str | None = None,
        finished_at: str | None = None,
        pipeline_version: str | None = None,
        attributes: dict | None = None,
    ) -> dict:
        """POST /runs/: creates the run or updates it (same run_id = same run, 201 then 200)."""
        body = {"pipeline_id": pipeline, "status": status, "run_id": run_id or new_id("run")}
        optional = {
            "started_at": started_at,
            "finished_at": finished_at,
            "pipeline_version": pipeline_version,
            "attributes": attributes,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return self.transport.request("POST", API + "/runs/", body=body).body

    def start_run(self, pipeline: str, run_id: str | None = None, **fields) -> dict:
        fields.setdefault("started_at", now_iso())
        return self.run_event(pipeline, "running", run_id, **fields)

    def finish_run(self, run_id: str, status: RunStatus, *, finished_at: str | None = None, **fields) -> dict:
        if status not in FINISHED_RUN_STATUSES:
            raise ValueError(f"status must be one of {', '.join(FINISHED_RUN_STATUSES)}, not {status!r}")
        body = {"status": status, "finished_at": finished_at or now_iso()}
        body.update({key: value for key, value in fields.items() if value is not None})
        return self.transport.request("PATCH", f"{API}/runs/{_name(run_id)}", body=body).body

    def get_run(self, run_id: str) -> dict:
        return self._get(f"/runs/{_name(run_id)}")

    # --- checks ---------------------------------------------------------------------------------
    def execute_check(
        self,
        check_id: str,
        *,
        connection_id: str | None = None,
        sql: str | None = None,
        run_id: str | None = None,
        result_id: str | None = None,
        **fields,
    ) -> dict:
        """Runs the check on the warehouse and returns its result. When the server queues the execution
        (202 with a Location), polls that location until the result is there or the client's timeout ends."""
        body = {"check_id": check_id, "result_id": result_id or new_id("res")}
        optional = {"connection_id": connection_id, "sql": sql, "run_id": run_id, **fields}
        body.update({key: value for key, value in optional.items() if value is not None})
        try:
            answer = self.transport.request("POST", API + "/checks/execute", body=body)
        except ApiError as error:
            # 502: the warehouse was unreachable and the server recorded an `error` result; return it.
            if error.status == 502 and isinstance(error.body, dict) and "result_id" in error.body:
                return error.body
            raise
        if answer.status != 202:
            return answer.body
        body = answer.body if isinstance(answer.body, dict) else {}
        location = answer.headers.get("Location") or body.get("location")
        if not location:
            raise ApiError(202, answer.body, "POST", API + "/checks/execute")
        return self._poll_execution(self.transport.same_origin_path(location))

    def _poll_execution(self, path: str) -> dict:
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            answer = self.transport.request("GET", path)
            body = answer.body if isinstance(answer.body, dict) else {}
            nested = body.get("result")
            if isinstance(nested, dict) and "result_id" in nested:
                return nested
            pending = answer.status == 202 or str(body.get("state") or body.get("status")) in PENDING_EXECUTION_STATES
            if not pending:
                return body
            if time.monotonic() >= deadline:
                raise CheckExecutionTimeout(f"The check execution at {path} was not done in {self.timeout_seconds}s.")
            retry_after = parse_retry_after(answer.headers.get("Retry-After"))
            interval = self.poll_interval_seconds if retry_after is None else retry_after
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())) or 0.05)

    def post_check_result(self, check_id: str, *, result_id: str | None = None, **fields) -> dict:
        """POST /checks/results/: a result computed elsewhere; status may be omitted (computed)."""
        body = {"check_id": check_id, "result_id": result_id or new_id("res")}
        body.update({key: value for key, value in fields.items() if value is not None})
        return self.transport.request("POST", API + "/checks/results/", body=body).body

    def check_results(self, **filters) -> dict:
        """Newest first, one page (`results`, `next`); filters: pipeline, status, check_id, run_id, ..."""
        return self._get("/checks/results", **filters)

    def get_check_result(self, result_id: str) -> dict:
        return self._get(f"/checks/results/{_name(result_id)}")

    # --- connections ----------------------------------------------------------------------------
    def list_connections(self) -> dict:
        return self._get("/connections/")

    def get_connection(self, connection_id: str) -> dict:
        return self._get(f"/connections/{_name(connection_id)}")

    def create_connection(self, connection_id: str, connection_type: str, config: dict) -> dict:
        body = {"id": connection_id, "type": connection_type, "config": config}
        return self.transport.request("POST", API + "/connections/", body=body).body

    # --- lineage --------------------------------------------------------------------------------
    def lineage(self, dataset_id: str, *, depth: int | None = None, direction: str | None = None) -> dict:
        # Dataset ids may hold slashes, dots and colons; the route takes everything after lineage/.
        return self._get(f"/lineage/{quote(dataset_id, safe='/:')}", depth=depth, direction=direction)
