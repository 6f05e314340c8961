"""What a warehouse holds, to prove a refused or failed check changed nothing."""

import sqlite3
from contextlib import closing

import psycopg


def sqlite_snapshot(path):
    with closing(sqlite3.connect(path)) as connection:
        tables = connection.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
        rows = connection.execute("SELECT * FROM orders ORDER BY order_id").fetchall()
    return tables, rows


def pg_snapshot(dsn):
    with psycopg.connect(dsn) as connection:
        rows = connection.execute("SELECT order_id, amount, is_late FROM orders ORDER BY order_id").fetchall()
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        ).fetchall()
        sequence = connection.execute("SELECT last_value, is_called FROM order_ids").fetchone()
    return rows, tables, sequence
