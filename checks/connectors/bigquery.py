"""BigQuery through google-cloud-bigquery, with BigQuery's own cost and time controls.

Every query carries `maximum_bytes_billed` (the config's, default 10 GB), a job timeout, labels
naming the check, and bounded API retries, so a slow or unreachable BigQuery cannot hold a
worker past the connection's timeout. BigQuery has no read-only transaction: give the service
account the BigQuery Data Viewer and Job User roles only (docs/checks.md).

`credentials_secret` references the organization's own service-account JSON key. Without it the
process's Application Default Credentials (the catalog's own Google identity) would be used, so that
needs the operator's DATAXPIPE_BIGQUERY_ALLOW_PLATFORM_CREDENTIALS. The key's `token_uri` must be
Google's token endpoint: google-auth posts to it, so any other URL would let a tenant aim the worker
at an address of its choosing. `settings.DATAXPIPE_BIGQUERY_API_ENDPOINT` (unset in production)
points the client at another endpoint (and allows token URIs under it); the tests use it for a local
fake server.
"""

import json
import re

import google.auth
import requests
from django.conf import settings
from google.api_core import exceptions as google_exceptions
from google.api_core import retry as google_retry
from google.auth import exceptions as auth_exceptions
from google.cloud import bigquery
from google.oauth2 import service_account

from checks.connectors.base import (
    ConnectionRefused,
    Connector,
    QueryRows,
    QueryTag,
    WarehouseQueryError,
    WarehouseTimeout,
    WarehouseUnavailable,
    require,
)

DEFAULT_MAXIMUM_BYTES_BILLED = 10 * 1024**3
SCOPES = ["https://www.googleapis.com/auth/bigquery"]
GOOGLE_TOKEN_URIS = ("https://oauth2.googleapis.com/token", "https://accounts.google.com/o/oauth2/token")
_LABEL_UNSAFE = re.compile(r"[^a-z0-9_-]")


def _label(value: str) -> str:
    # Label values: lower-case letters, digits, _ and -, at most 63 characters.
    return _LABEL_UNSAFE.sub("_", value.lower())[:63]


def _token_uri_allowed(token_uri) -> bool:
    endpoint = getattr(settings, "DATAXPIPE_BIGQUERY_API_ENDPOINT", None)
    return token_uri in GOOGLE_TOKEN_URIS or bool(endpoint and str(token_uri).startswith(endpoint.rstrip("/") + "/"))


def _credentials(config: dict):
    if config.get("credentials"):
        try:
            info = json.loads(config["credentials"])
        except (ValueError, TypeError):
            raise WarehouseUnavailable("credentials_secret does not hold a valid service-account JSON key.") from None
        if isinstance(info, dict) and "token_uri" in info and not _token_uri_allowed(info["token_uri"]):
            raise ConnectionRefused(
                f"the service-account key's token_uri must be Google's token endpoint ({GOOGLE_TOKEN_URIS[0]})."
            )
        try:
            return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        except (ValueError, TypeError, KeyError):
            raise WarehouseUnavailable("credentials_secret does not hold a valid service-account JSON key.") from None
    if not settings.DATAXPIPE_BIGQUERY_ALLOW_PLATFORM_CREDENTIALS:
        raise ConnectionRefused(
            "a BigQuery connection needs credentials_secret (the organization's own service-account key); "
            "the catalog's own Google identity is never lent to a connection."
        )
    try:
        credentials, _project = google.auth.default(scopes=SCOPES)
    except auth_exceptions.DefaultCredentialsError:
        raise WarehouseUnavailable(
            "No credentials_secret and no Application Default Credentials for BigQuery."
        ) from None
    return credentials


class BigQueryConnector(Connector):
    type = "bigquery"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        require(self.config, "project")
        try:
            self.maximum_bytes_billed = int(self.config.get("maximum_bytes_billed") or DEFAULT_MAXIMUM_BYTES_BILLED)
        except (TypeError, ValueError):
            raise WarehouseUnavailable("maximum_bytes_billed must be an integer number of bytes.") from None
        endpoint = getattr(settings, "DATAXPIPE_BIGQUERY_API_ENDPOINT", None)
        self.client = bigquery.Client(
            project=self.config["project"],
            credentials=_credentials(self.config),
            location=self.config.get("location") or None,
            client_options={"api_endpoint": endpoint} if endpoint else None,
        )

    def fetch(self, sql: str, *, max_rows: int, tag: QueryTag) -> QueryRows:
        job_config = bigquery.QueryJobConfig(
            maximum_bytes_billed=self.maximum_bytes_billed,
            use_legacy_sql=False,
            labels={
                "dataxpipe": "check",
                "organization": _label(tag.organization),
                "connection": _label(tag.connection_id),
                "check": _label(tag.check_id or "ad_hoc"),
            },
        )
        job_config.job_timeout_ms = int(self.timeout_seconds * 1000)
        if self.config.get("dataset"):
            job_config.default_dataset = f"{self.config['project']}.{self.config['dataset']}"
        retry = google_retry.Retry(timeout=self.timeout_seconds)
        try:
            iterator = self.client.query_and_wait(
                sql,
                job_config=job_config,
                location=self.config.get("location") or None,
                api_timeout=self.timeout_seconds,
                wait_timeout=self.timeout_seconds,
                retry=retry,
                job_retry=None,
                max_results=max_rows,
            )
            columns = [column.name for column in iterator.schema or []]
            rows = []
            for row in iterator:
                rows.append(tuple(row.values()))
                if len(rows) >= max_rows:
                    break
        except (google_exceptions.GatewayTimeout, google_exceptions.DeadlineExceeded, TimeoutError) as exc:
            raise WarehouseTimeout(f"BigQuery did not answer within {self.timeout_seconds:g} s ({exc}).") from exc
        except google_exceptions.RetryError as exc:
            raise WarehouseUnavailable(f"BigQuery could not be reached within {self.timeout_seconds:g} s.") from exc
        except (google_exceptions.Unauthorized, google_exceptions.Forbidden, auth_exceptions.GoogleAuthError) as exc:
            raise WarehouseUnavailable(str(exc)) from exc
        except google_exceptions.GoogleAPICallError as exc:
            raise WarehouseQueryError(getattr(exc, "message", None) or str(exc)) from exc
        except (requests.exceptions.RequestException, OSError) as exc:
            # requests' connection and read errors surface here when the API is unreachable or slow.
            if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower():
                raise WarehouseTimeout(f"BigQuery did not answer within {self.timeout_seconds:g} s.") from exc
            raise WarehouseUnavailable(f"BigQuery could not be reached ({type(exc).__name__}).") from exc
        return QueryRows(columns=columns, rows=rows)

    def close(self) -> None:
        self.client.close()
