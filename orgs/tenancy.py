"""Tenancy below the views: a query of an organization's rows says whose rows it reads, or it fails.

Every model with an organization foreign key has `objects = OrganizationScopedManager()`. A queryset
from it decides its scope before it reaches the database:

    Run.objects.for_organization(organization)   one organization: API views, services, selectors
    Run.objects.for_organizations(organizations) several: an organization user's admin pages
    Run.objects.unscoped()                       every organization, said out loud: staff pages, a key
                                                 looked up by its prefix, webhooks, system jobs

Evaluating a queryset that decided nothing (iterating it, get, first, count, exists, aggregate,
update, delete, iterator, in_bulk, explain, a union with it...) raises UnscopedQueryError: a
forgotten filter is a programming error (a logged 500), never another organization's rows.
`create` and `bulk_create` stay allowed: the rows carry their organization.

Decided already, with nothing to write:
- querysets of a related manager (`pipeline.runs.all()`, `prefetch_related("runs")`): they are
  bounded by the object they hang from;
- a queryset filtered on exactly one organization (`organization=<value>` at the top of its WHERE
  clause). Django's own uniqueness validation queries `_default_manager` with every field of the
  constraint, so a per-organization constraint stays checkable; our code writes `for_organization`.

Django's internals that read through `_base_manager` (foreign-key access, refresh_from_db, save,
cascade deletes) use a plain manager and are untouched; so does `manage.py dumpdata --all` (without
`--all`, dumpdata reads `_default_manager` and refuses). A subquery (`Subquery`, `Exists`,
`pk__in=queryset`) is part of its outer query, whose decision is the one checked.
"""

from django.db import models
from django.db.models.lookups import Exact

FOR_ORGANIZATION = "one organization"
FOR_ORGANIZATIONS = "several organizations"
UNSCOPED = "every organization (unscoped)"
RELATED_OBJECT = "the object of a related manager"
FILTERED_ON_ORGANIZATION = "a filter on one organization"


class UnscopedQueryError(RuntimeError):
    """A query of organization-owned rows that never said whose rows it reads."""


class OrganizationScopedQuerySet(models.QuerySet):
    organization_field = "organization"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._organization_scope = None

    # --- the decision -----------------------------------------------------------------------

    def for_organization(self, organization):
        """Rows of one organization (an Organization or its primary key)."""
        if organization is None:
            raise UnscopedQueryError(f"{self.model.__name__}: for_organization() needs an organization, not None.")
        return self._decided(self.filter(**{self.organization_field: organization}), FOR_ORGANIZATION)

    def for_organizations(self, organizations):
        """Rows of several organizations: a queryset of organizations or a list of primary keys."""
        if organizations is None:
            raise UnscopedQueryError(f"{self.model.__name__}: for_organizations() needs organizations, not None.")
        return self._decided(self.filter(**{f"{self.organization_field}__in": organizations}), FOR_ORGANIZATIONS)

    def unscoped(self):
        """Every organization's rows. Each call site says why in a comment next to it."""
        return self._decided(self._chain(), UNSCOPED)

    @property
    def organization_scope(self) -> str | None:
        """How this queryset was scoped, or None when it has not decided (evaluating it would raise)."""
        return self._organization_scope or (FILTERED_ON_ORGANIZATION if self._filters_one_organization() else None)

    @staticmethod
    def _decided(queryset, how):
        queryset._organization_scope = how
        return queryset

    def _clone(self):
        clone = super()._clone()
        clone._organization_scope = self._organization_scope
        return clone

    def _require_scope(self, operation: str):
        if self._organization_scope or self.query.is_empty() or self._filters_one_organization():
            return
        raise UnscopedQueryError(
            f"{operation} on {self.model.__name__}.objects without a scope: call .for_organization(organization), "
            ".for_organizations(organizations) or, for a deliberate cross-organization read, .unscoped()."
        )

    def _filters_one_organization(self) -> bool:
        query = self.query
        if not query.alias_map:
            return False
        # The first alias is the model's own table (Query.base_table, read here without caching it).
        alias = next(iter(query.alias_map))
        return _has_exact_organization(query.where, self.model._meta.get_field(self.organization_field), alias)

    # --- every way a queryset reaches the database --------------------------------------------

    def _fetch_all(self):
        if self._result_cache is None:
            self._require_scope("Reading rows")
        super()._fetch_all()

    def _iterator(self, use_chunked_fetch, chunk_size):
        self._require_scope("iterator()")
        yield from super()._iterator(use_chunked_fetch, chunk_size)

    async def aiterator(self, chunk_size=2000):
        self._require_scope("aiterator()")
        async for row in super().aiterator(chunk_size):
            yield row

    def count(self):
        if self._result_cache is None:
            self._require_scope("count()")
        return super().count()

    def exists(self):
        if self._result_cache is None:
            self._require_scope("exists()")
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._require_scope("aggregate()")
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._require_scope("update()")
        return super().update(**kwargs)

    update.alters_data = True

    def _update(self, values):
        self._require_scope("update()")
        return super()._update(values)

    _update.alters_data = True
    _update.queryset_only = False

    # Checked on entry, before Django opens the transaction these run in: a refusal leaves the caller's
    # transaction usable.
    def bulk_update(self, objs, fields, batch_size=None):
        self._require_scope("bulk_update()")
        return super().bulk_update(objs, fields, batch_size)

    bulk_update.alters_data = True

    def get_or_create(self, defaults=None, **kwargs):
        self._require_scope("get_or_create()")
        return super().get_or_create(defaults, **kwargs)

    get_or_create.alters_data = True

    def update_or_create(self, defaults=None, create_defaults=None, **kwargs):
        self._require_scope("update_or_create()")
        return super().update_or_create(defaults, create_defaults, **kwargs)

    update_or_create.alters_data = True

    def delete(self):
        self._require_scope("delete()")
        return super().delete()

    delete.alters_data = True
    delete.queryset_only = True

    def _raw_delete(self, using):
        self._require_scope("delete()")
        return super()._raw_delete(using)

    _raw_delete.alters_data = True

    def explain(self, *, format=None, **options):
        self._require_scope("explain()")
        return super().explain(format=format, **options)

    def raw(self, raw_query, params=(), translations=None, using=None):
        # Raw SQL ignores every filter of the queryset it comes from: only an explicit unscoped() may run it.
        if self._organization_scope != UNSCOPED:
            raise UnscopedQueryError(
                f"raw() on {self.model.__name__}.objects: raw SQL is not filtered by any scope; "
                "filter by organization in the SQL and call it on .unscoped()."
            )
        return super().raw(raw_query, params, translations, using)

    def _combinator_query(self, combinator, *other_qs, all=False):
        for queryset in (self, *other_qs):
            if isinstance(queryset, OrganizationScopedQuerySet):
                queryset._require_scope(f"{combinator}()")
        combined = super()._combinator_query(combinator, *other_qs, all=all)
        return self._decided(combined, self._organization_scope or FILTERED_ON_ORGANIZATION)

    # `a | b` and `a ^ b` add the other side's rows: both sides must have decided, before Django combines them
    # (a sliced side is rebuilt on the plain base manager, which would carry no decision to check later).
    def __or__(self, other):
        return self._widened(other, "|", super().__or__)

    def __xor__(self, other):
        return self._widened(other, "^", super().__xor__)

    def _widened(self, other, operator, combine):
        for queryset in (self, other):
            if isinstance(queryset, OrganizationScopedQuerySet):
                queryset._require_scope(f"a {operator} b")
        combined = combine(other)
        if isinstance(combined, OrganizationScopedQuerySet) and combined is not self and combined is not other:
            combined._organization_scope = FOR_ORGANIZATIONS
        return combined

    # `a & b` only narrows: decided when either side is.
    def __and__(self, other):
        combined = super().__and__(other)
        if isinstance(combined, OrganizationScopedQuerySet) and combined is not self and combined is not other:
            combined._organization_scope = self._organization_scope or getattr(other, "_organization_scope", None)
        return combined

    def __repr__(self):
        # repr() runs in debuggers, logs and error pages: it must not raise for an undecided queryset.
        if self._result_cache is None and self.organization_scope is None and not self.query.is_empty():
            return f"<{self.__class__.__name__} {self.model.__name__}: scope not decided>"
        return super().__repr__()


def _has_exact_organization(node, field, alias) -> bool:
    """Whether a WHERE tree ANDs `<alias>.organization_id = <a plain value>` at its top level."""
    if node.negated or node.connector != "AND":
        return False
    for child in node.children:
        if isinstance(child, Exact):
            target = getattr(child.lhs, "target", None)
            if (
                target is field
                and getattr(child.lhs, "alias", None) == alias
                and not hasattr(child.rhs, "resolve_expression")
            ):
                return True
        elif hasattr(child, "connector") and _has_exact_organization(child, field, alias):
            return True
    return False


class OrganizationScopedManager(models.Manager.from_queryset(OrganizationScopedQuerySet)):
    """The default manager (`objects`) of every model with an organization foreign key."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "instance", None) is not None:
            # A related manager (`pipeline.runs`, a reverse-FK prefetch) filters by the object it hangs from.
            queryset._organization_scope = RELATED_OBJECT
        return queryset
