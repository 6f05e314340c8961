"""Errors the client raises; none of them carries the API key."""


class DataXPipeError(Exception):
    """Base class: configuration problems, unreachable server, API refusals."""


class ConfigurationError(DataXPipeError):
    pass


class TransportError(DataXPipeError):
    """The server could not be reached (or kept failing) after every retry."""


class ApiError(DataXPipeError):
    """The server answered with an error status; `body` holds its JSON (field messages for a 400)."""

    def __init__(self, status: int, body, method: str, path: str):
        self.status = status
        self.body = body
        self.method = method
        self.path = path
        super().__init__(f"{method} {path} answered {status}: {body}")


class CheckExecutionTimeout(DataXPipeError):
    """A check execution accepted with 202 was still running when the client's timeout ran out."""
