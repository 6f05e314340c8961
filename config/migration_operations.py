"""Migration operations shared by the apps.

AddIndexOnline: on PostgreSQL `CREATE INDEX CONCURRENTLY`, so that adding an index to a large history
table (runs, check results) does not block ingestion's writes while it builds; elsewhere a plain
CREATE INDEX. A migration using it sets `atomic = False` (CONCURRENTLY cannot run in a transaction).

BackfillExistingRows: SQL that only rewrites rows already there (a new column filled in for old rows). A new
database has none, so config/embedded_database.py, which builds new databases from the models and records
the migrations as applied, may leave it out; any other data step must run there too
(tests/deployment/test_embedded_database.py).
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations


class AddIndexOnline(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class BackfillExistingRows(migrations.RunSQL):
    pass
