"""The admin's one translation of domain errors: a refused rule is a message on the page, never a 500.

Services raise `orgs.errors.DomainError` (a plan limit, a conflict, billing not configured) or
Django's ValidationError; the admin calls them from save_model, actions and custom views, where
Django would let either escape as a 500. `DomainErrorsAdminMixin` catches them around the admin's
entry points (the transaction of the add/change form has rolled back by then) and shows the
messages on the page the user came from; `shows_domain_errors` does the same for custom views.
"""

import functools

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from orgs.errors import DomainError

REFUSALS = (DomainError, ValidationError)


def refusal_messages(exc: Exception) -> list[str]:
    if isinstance(exc, DomainError):
        return exc.messages()
    if hasattr(exc, "error_dict"):
        return [
            message if field in ("__all__", "non_field_errors") else f"{field}: {message}"
            for field, field_messages in exc.message_dict.items()
            for message in field_messages
        ]
    return list(exc.messages)


def refused(modeladmin, request, exc: Exception) -> HttpResponseRedirect:
    for message in refusal_messages(exc):
        modeladmin.message_user(request, message, messages.ERROR)
    # Back to the same page as a GET: the form or list the user acted on, with the message above it.
    return HttpResponseRedirect(request.get_full_path())


def shows_domain_errors(view):
    """For a ModelAdmin's custom view (a method taking the request): refusals become messages."""

    @functools.wraps(view)
    def wrapped(modeladmin, request, *args, **kwargs):
        try:
            return view(modeladmin, request, *args, **kwargs)
        except REFUSALS as exc:
            return refused(modeladmin, request, exc)

    return wrapped


class DomainErrorsAdminMixin:
    """Add and change forms (save_model, save_related), bulk actions and deletions answer a refused rule
    with a message. Put it first among a ModelAdmin's bases."""

    @shows_domain_errors
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    @shows_domain_errors
    def changelist_view(self, request, extra_context=None):
        # Actions run inside the changelist view (response_action).
        return super().changelist_view(request, extra_context)

    @shows_domain_errors
    def delete_view(self, request, object_id, extra_context=None):
        return super().delete_view(request, object_id, extra_context)
