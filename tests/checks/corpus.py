"""Mutating or dangerous SQL that check execution must refuse, whatever the connection's dialect.

Each entry names the dialect it is written for; the tests send every entry to every warehouse type.
"""

DANGEROUS_SQL = [
    # Plain writes and DDL
    ("any", "DELETE FROM orders"),
    ("any", "UPDATE orders SET amount = 0"),
    ("any", "INSERT INTO orders VALUES (99, 1, 0)"),
    ("any", "DROP TABLE orders"),
    ("any", "CREATE TABLE stolen AS SELECT * FROM orders"),
    ("any", "ALTER TABLE orders ADD COLUMN pwned int"),
    ("any", "TRUNCATE orders"),
    ("any", "GRANT ALL ON orders TO PUBLIC"),
    ("any", "SELECT 1; DELETE FROM orders"),
    ("any", "SELECT COUNT(*) FROM orders; DROP TABLE orders"),
    ("any", "SELECT 1;\nSELECT 2"),
    ("any", "COMMIT; DELETE FROM orders"),
    ("any", "MERGE INTO orders t USING orders s ON t.order_id = s.order_id WHEN MATCHED THEN DELETE"),
    # Writes hidden in a query
    ("postgres", "WITH gone AS (DELETE FROM orders RETURNING *) SELECT COUNT(*) FROM gone"),
    ("postgres", "WITH up AS (UPDATE orders SET amount = 0 RETURNING 1) SELECT COUNT(*) FROM up"),
    ("postgres", "WITH ins AS (INSERT INTO orders VALUES (99, 1, false) RETURNING 1) SELECT COUNT(*) FROM ins"),
    ("postgres", "SELECT * INTO stolen FROM orders"),
    ("postgres", "SELECT COUNT(*) FROM orders FOR UPDATE"),
    ("postgres", "SELECT nextval('order_ids')"),
    ("postgres", "SELECT setval('order_ids', 1000)"),
    ("postgres", "SELECT set_config('statement_timeout', '0', false)"),
    # Not a query at all
    ("postgres", "DO $$ BEGIN DELETE FROM orders; END $$"),
    ("postgres", "EXPLAIN ANALYZE DELETE FROM orders"),
    ("postgres", "EXPLAIN ANALYZE SELECT 1"),
    ("postgres", "COPY orders TO '/tmp/orders.csv'"),
    ("postgres", "COPY orders FROM PROGRAM 'id'"),
    ("postgres", "SET statement_timeout = 0"),
    ("postgres", "SET TRANSACTION READ WRITE"),
    ("postgres", "LOCK TABLE orders"),
    ("postgres", "REFRESH MATERIALIZED VIEW orders_mv"),
    ("postgres", "CALL cleanup()"),
    ("postgres", "VACUUM orders"),
    ("postgres", "PREPARE wipe AS DELETE FROM orders"),
    # Server files, other databases, SQL in a string
    ("postgres", "SELECT pg_read_file('/etc/passwd')"),
    ("postgres", "SELECT length(pg_catalog.pg_read_binary_file('postgresql.conf'))"),
    ("postgres", "SELECT COUNT(*) FROM pg_ls_dir('.')"),
    ("postgres", "SELECT lo_import('/etc/passwd')"),
    ("postgres", "SELECT lo_export(1234, '/tmp/x')"),
    ("postgres", "SELECT COUNT(*) FROM dblink('dbname=postgres', 'DELETE FROM orders') AS t(x int)"),
    ("postgres", "SELECT query_to_xml('DELETE FROM orders RETURNING 1', true, false, '')"),
    ("postgres", "SELECT pg_terminate_backend(1)"),
    ("postgres", 'SELECT "pg_read_file"(\'/etc/hostname\')'),
    # SQLite
    ("sqlite", "ATTACH DATABASE '/tmp/other.sqlite3' AS other"),
    ("sqlite", "DETACH DATABASE other"),
    ("sqlite", "PRAGMA writable_schema = 1"),
    ("sqlite", "PRAGMA query_only = OFF"),
    ("sqlite", "VACUUM INTO '/tmp/copy.sqlite3'"),
    ("sqlite", "REPLACE INTO orders VALUES (1, 0, 0)"),
    ("sqlite", "SELECT load_extension('/tmp/evil.so')"),
    ("sqlite", "SELECT writefile('/tmp/x', 'data')"),
    ("sqlite", "INSERT OR REPLACE INTO orders VALUES (1, 0, 0)"),
    # Snowflake
    ("snowflake", "CALL system$wipe()"),
    ("snowflake", "SELECT SYSTEM$CANCEL_ALL_QUERIES(1)"),
    ("snowflake", "PUT file:///tmp/x @~/stage"),
    ("snowflake", "COPY INTO @~/stage FROM orders"),
    ("snowflake", "USE ROLE ACCOUNTADMIN"),
    ("snowflake", "ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = 0"),
    ("snowflake", "CREATE OR REPLACE TABLE orders AS SELECT 1 AS x"),
    ("snowflake", "UNDROP TABLE orders"),
    # BigQuery
    ("bigquery", "EXPORT DATA OPTIONS (uri = 'gs://bucket/*.csv', format = 'CSV') AS SELECT * FROM orders"),
    ("bigquery", "SELECT COUNT(*) FROM EXTERNAL_QUERY('conn', 'DELETE FROM orders')"),
    ("bigquery", "CREATE TEMP FUNCTION f() AS (1); SELECT f()"),
    ("bigquery", "BEGIN TRANSACTION; DELETE FROM orders WHERE TRUE; COMMIT TRANSACTION"),
    ("bigquery", "DECLARE x INT64 DEFAULT 0"),
    # Empty or unverifiable
    ("any", ""),
    ("any", "   -- only a comment"),
    ("any", "SELECT FROM WHERE ((("),
]

SAFE_SQL = [
    ("any", "SELECT COUNT(*) AS violations FROM orders WHERE amount < 0"),
    ("any", "SELECT COUNT(*) FROM orders WHERE amount < 0;"),
    ("any", "WITH negative AS (SELECT * FROM orders WHERE amount < 0) SELECT COUNT(*) FROM negative"),
    ("any", "SELECT COUNT(*) AS violations FROM (SELECT order_id FROM orders GROUP BY order_id HAVING COUNT(*) > 1) d"),
    ("any", "SELECT 1 UNION ALL SELECT 2"),
    ("postgres", "SELECT COUNT(*) FROM orders WHERE note = 'it''s; DELETE FROM orders'"),
    ("bigquery", "SELECT COUNT(*) FROM orders WHERE note = 'it\\'s; DELETE FROM orders'"),
    ("any", "SELECT COUNT(*) FROM orders -- ; DROP TABLE orders"),
    ("postgres", "SELECT pg_sleep(0.01), 0"),
]
