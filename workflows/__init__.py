"""Requests that span apps, and nothing else: this app owns no tables.

Each step calls the owning app's services (writes) or selectors (reads), so every table is written
by its own app. Here: pipeline.json registration (catalog + lineage + checks), OpenLineage ingestion
(lineage + catalog + checks), the lineage graph with the checks it impacts, usage across apps for
the plan limits, the API views whose answers compose several apps, the demo seeder, and the commands
that set up a whole deployment's database (`prepare_database`) or the local demo (`run_demo`). The layering
(docs/architecture.md) puts it above every domain app and below the console.
"""
