"""What Python notebooks do with a PostgreSQL connection: psycopg 3 with parameters and a server-side cursor
(DECLARE/FETCH), and SQLAlchemy's inspector (over psycopg2). Prints one line per fact.
Usage: /usr/bin/python3 psycopg_check.py "host=… port=… dbname=… user=… password=…" "postgresql+psycopg2://…" SCHEMA TABLE"""
import sys

import psycopg
from sqlalchemy import create_engine, inspect, text

dsn, url, schema, table = sys.argv[1:5]
with psycopg.connect(dsn) as conn:
    with conn.cursor(name="items") as cur:
        cur.itersize = 4
        cur.execute(f"SELECT id, name FROM {schema}.{table} WHERE id <= %s ORDER BY id", (10,))
        for row in cur:
            print(f"cursor:{row[0]}:{row[1]}")
    with conn.cursor() as cur:
        cur.execute("SELECT %s::bigint + 1, %s, %s", (41, "it's", None))
        print("params:", cur.fetchone())
    with conn.cursor(binary=True) as cur:
        cur.execute(f"SELECT id, name FROM {schema}.{table} WHERE id = %s", (3,))
        print("binary:", cur.fetchone())

engine = create_engine(url)
inspector = inspect(engine)
print("schemas:", ",".join(sorted(inspector.get_schema_names())))
print("tables:", ",".join(sorted(inspector.get_table_names(schema=schema))))
for column in inspector.get_columns(table, schema=schema):
    print(f"column:{column['name']}:{column['type']}")
print("pk:", ",".join(inspector.get_pk_constraint(table, schema=schema)["constrained_columns"]))
print("comment:", inspector.get_table_comment(table, schema=schema)["text"])
with engine.connect() as connection:
    print("sqlalchemy:", connection.execute(text(f"SELECT count(*) FROM {schema}.{table} WHERE id > :n"), {"n": 100}).scalar())
