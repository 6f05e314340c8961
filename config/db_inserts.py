"""Single-statement inserts the ORM has no words for: a run (catalog) and a stored OpenLineage event (lineage)."""

from django.db import IntegrityError, connections, router, transaction


def can_insert_returning(database) -> bool:
    return database.features.can_return_columns_from_insert


def insert_unless_conflict(instance, conflict_columns: tuple[str, ...] = ()) -> bool:
    """Inserts `instance` unless a unique constraint (the one on `conflict_columns` when given) already holds
    its key; True when this call inserted it.

    One `INSERT ... ON CONFLICT DO NOTHING RETURNING id` where the database can (PostgreSQL, SQLite >= 3.35):
    no savepoint and no error to recover from, which matters on the per-event path of OpenLineage
    ingestion, and a parallel insert of the same key waits on the unique index and then does nothing.
    Elsewhere, a savepoint around a plain insert.
    """
    model = type(instance)
    database = connections[router.db_for_write(model)]
    if not can_insert_returning(database):
        try:
            with transaction.atomic(using=database.alias):
                instance.save(force_insert=True, using=database.alias)
            return True
        except IntegrityError:
            return False
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = database.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    values = [field.get_db_prep_save(field.pre_save(instance, add=True), database) for field in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    target = f"({', '.join(quote(column) for column in conflict_columns)}) " if conflict_columns else ""
    # Only quoted model metadata is interpolated; every value is a query parameter.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT {target}DO NOTHING RETURNING {quote(model._meta.pk.column)}"
    )
    with database.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = database.alias
    return True
