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
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from orgs.errors import DomainError, messages_of

REFUSALS = (DomainError, ValidationError)


def _page_the_user_came_from(request) -> str:
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        return referer
    return reverse("admin:index")


def refused(modeladmin, request, exc: Exception, *, same_page: bool) -> HttpResponseRedirect:
    for message in messages_of(exc):
        modeladmin.message_user(request, message, messages.ERROR)
    if same_page and request.method == "POST":
        # The form or list the user acted on, as a GET, with the message above it.
        return HttpResponseRedirect(request.get_full_path())
    # A POST-only custom view (a button), or a page that failed to show: never redirect to itself.
    return HttpResponseRedirect(_page_the_user_came_from(request))


def _translating(view, *, same_page: bool):
    @functools.wraps(view)
    def wrapped(modeladmin, request, *args, **kwargs):
        try:
            return view(modeladmin, request, *args, **kwargs)
        except REFUSALS as exc:
            return refused(modeladmin, request, exc, same_page=same_page)

    return wrapped


def shows_domain_errors(view):
    """For a ModelAdmin's custom view (a method taking the request): refusals become messages on the
    page the user came from (the button's page)."""
    return _translating(view, same_page=False)


class DomainErrorsAdminMixin:
    """Add and change forms (save_model, save_related), bulk actions and deletions answer a refused rule
    with a message. Put it first among a ModelAdmin's bases."""

    @functools.partial(_translating, same_page=True)
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    @functools.partial(_translating, same_page=True)
    def changelist_view(self, request, extra_context=None):
        # Actions run inside the changelist view (response_action).
        return super().changelist_view(request, extra_context)

    @functools.partial(_translating, same_page=True)
    def delete_view(self, request, object_id, extra_context=None):
        return super().delete_view(request, object_id, extra_context)
