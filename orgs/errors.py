"""Domain errors: what a service, a limit or a registration refuses, in words a person can read.

They know nothing of HTTP or of the admin, so the API, the admin and management commands can all
call the same services. Two places translate them: `orgs/api/exceptions.py` (the API's status codes
and bodies) and `console/admin_errors.py` (admin messages and form errors). `messages_of` gives the
same lines for a domain error or a Django ValidationError to every reader that is not the API (the
admin's messages, a check execution's stored message).

They live in `orgs`, the bottom domain app every other app already imports, rather than in
`config` (infrastructure that imports the apps): the services keep depending downwards only.

`message` and every value in `extra` are shown to the caller as they are: never put a secret,
a SQL text or a database error's wording in them.
"""

from django.core.exceptions import ValidationError


class DomainError(Exception):
    """Base: a safe message, a machine-readable code, optional field messages and extra data."""

    code = "error"
    default_message = "The request cannot be completed."

    def __init__(self, message: str | None = None, *, code: str | None = None, fields=None, **extra):
        self.message = message or self.default_message
        self.code = code or type(self).code
        self.fields = {name: list(messages) for name, messages in (fields or {}).items()}
        self.extra = extra
        super().__init__(self.message)

    @property
    def detail(self) -> dict:
        """The error as data: the API's response body, kept beside the exception for callers and tests."""
        if self.fields and not self.extra:
            # Field messages answer like a serializer's (or Django's ValidationError): {field: [messages]}.
            return dict(self.fields)
        body = {"detail": self.message, "code": self.code, **self.extra}
        if self.fields:
            body["fields"] = dict(self.fields)
        return body

    def messages(self) -> list[str]:
        """One line per message, for the admin and the command line."""
        if not self.fields:
            return [self.message]
        return _field_lines(self.fields)


# The keys DRF and Django give messages about the whole input: their lines name no field.
_WHOLE_INPUT = ("non_field_errors", "__all__")


def _field_lines(fields: dict) -> list[str]:
    return [
        message if name in _WHOLE_INPUT else f"{name}: {message}"
        for name, messages in fields.items()
        for message in messages
    ]


def messages_of(exc: DomainError | ValidationError) -> list[str]:
    """A refusal as lines a person reads, fields named (`name: message`) unless the message is about the
    whole input."""
    if isinstance(exc, DomainError):
        return exc.messages()
    # A ValidationError raised with a plain message or a list has no message_dict (reading it raises
    # AttributeError): callers such as a check worker must never fail on the error's shape.
    if hasattr(exc, "error_dict"):
        return _field_lines(exc.message_dict)
    return list(exc.messages)


class InvalidInput(DomainError):
    code = "invalid"
    default_message = "The request holds invalid values."


class NotFound(DomainError):
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    code = "conflict"
    default_message = "The request conflicts with the current state of the resource."


class PlanLimitReached(DomainError):
    """A counted or monthly limit of the organization's plan; the body names the limit and the usage."""

    code = "plan_limit_reached"
    UPGRADE = "/api/v1/billing/checkout"

    def __init__(self, organization, metric: str, limit: int, usage: int):
        self.metric, self.limit, self.usage = metric, limit, usage
        super().__init__(
            f"The {organization.plan} plan allows {limit} {metric.replace('_', ' ')}; "
            f"this organization has used {usage}. Upgrade with POST {self.UPGRADE}.",
            limit=metric,
            plan=organization.plan,
            allowed=limit,
            usage=usage,
            upgrade=self.UPGRADE,
        )


class NotConfigured(DomainError):
    """A feature this deployment has not set up (billing without a Stripe key)."""

    code = "not_configured"
    default_message = "This feature is not configured on this deployment."


class UpstreamUnavailable(DomainError):
    """A remote service the request needs (Stripe) failed; the reason is logged, never shown."""

    code = "upstream_unavailable"
    default_message = "A service this request needs could not complete it; retry later."
