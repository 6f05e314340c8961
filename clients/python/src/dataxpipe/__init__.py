"""Python client for the DataXPipe Catalog API; `dataxpipe` on the command line."""

from dataxpipe.client import Client
from dataxpipe.config import Settings
from dataxpipe.errors import ApiError, CheckExecutionTimeout, ConfigurationError, DataXPipeError, TransportError
from dataxpipe.transport import RetryPolicy

__all__ = [
    "ApiError",
    "CheckExecutionTimeout",
    "Client",
    "ConfigurationError",
    "DataXPipeError",
    "RetryPolicy",
    "Settings",
    "TransportError",
]
