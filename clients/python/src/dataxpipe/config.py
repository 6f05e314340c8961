"""Settings from the environment, as the API contract names them."""

import os
from dataclasses import dataclass

from dataxpipe.errors import ConfigurationError

DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Settings:
    url: str
    api_key: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def __repr__(self) -> str:  # a Settings object printed in a traceback or log must not show the key
        return f"Settings(url={self.url!r}, api_key='***', timeout_seconds={self.timeout_seconds})"

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        environ = os.environ if environ is None else environ
        url = (environ.get("DATAXPIPE_URL") or "").strip()
        api_key = (environ.get("DATAXPIPE_API_KEY") or "").strip()
        if not url:
            raise ConfigurationError("DATAXPIPE_URL is not set (for example https://api.dataxpipe.com).")
        if not api_key:
            raise ConfigurationError("DATAXPIPE_API_KEY is not set.")
        raw_timeout = (environ.get("DATAXPIPE_TIMEOUT_SECONDS") or "").strip()
        timeout = DEFAULT_TIMEOUT_SECONDS
        if raw_timeout:
            try:
                timeout = float(raw_timeout)
            except ValueError:
                raise ConfigurationError(f"DATAXPIPE_TIMEOUT_SECONDS must be a number, not {raw_timeout!r}.") from None
            if timeout <= 0:
                raise ConfigurationError("DATAXPIPE_TIMEOUT_SECONDS must be positive.")
        return cls(url=url.rstrip("/"), api_key=api_key, timeout_seconds=timeout)
