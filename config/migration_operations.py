"""Migration operations shared by the apps.

AddIndexOnline: on PostgreSQL `CREATE INDEX CONCURRENTLY`, so that adding an index to a large history
table (runs, check results) does not block ingestion's writes while it builds; elsewhere a plain
CREATE INDEX. A migration using it sets `atomic = False` (CONCURRENTLY cannot run in a transaction).
"""

from django.db import migrations


class AddIndexOnline(migrations.AddIndex):
    def _concurrently(self, schema_editor) -> dict:
        return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, self.index, **self._concurrently(schema_editor))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, **self._concurrently(schema_editor))
