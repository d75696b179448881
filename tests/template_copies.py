"""A used copy of the migrated template, made a fresh copy again (tests/databases.py, PostgreSQL only): whether
its schema is still the template's, and the SQL that empties its tables."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = ["emptying_script", "schema_fingerprint"]

# Everything in a database's public schema a test could have changed: relations, columns (type, nullability,
# default), constraints, functions, and the migration it is at. Equal fingerprints: emptying the tables makes it a
# fresh copy. Read from pg_catalog directly (information_schema's views took twice as long).
SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(item, ',' ORDER BY item)) FROM (
    SELECT relkind::text || ' ' || relname AS item FROM pg_class WHERE relnamespace = 'public'::regnamespace
    UNION ALL SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
                     || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
              WHERE connamespace = 'public'::regnamespace
    UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
    UNION ALL SELECT 'at ' || version_num FROM alembic_version
) AS schema"""
# The public tables (but alembic's) and the tables each one's foreign keys point at; and the sequences.
TABLE_REFERENCES = """
SELECT t.tablename, coalesce(array_agg(DISTINCT p.relname) FILTER (WHERE p.relname IS NOT NULL), '{}')
FROM pg_tables t
LEFT JOIN pg_constraint f ON f.conrelid = format('public.%I', t.tablename)::regclass AND f.contype = 'f'
LEFT JOIN pg_class p ON p.oid = f.confrelid AND p.relname <> t.tablename
WHERE t.schemaname = 'public' AND t.tablename <> 'alembic_version'
GROUP BY t.tablename ORDER BY t.tablename"""
SEQUENCES = "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename"


def _emptying_script(references: dict[str, list[str]], sequences: list[str]) -> str:
    """DELETE every table's rows, a table before those its foreign keys point at, then start every sequence
    again: the tables as a fresh copy has them. (TRUNCATE … RESTART IDENTITY does the same in one statement,
    but makes new files for every table and index: three times as long for tables this small.)"""
    order: list[str] = []
    placed: set[str] = set()

    def place(table: str, path: frozenset[str] = frozenset()) -> None:
        if table in placed:
            return
        assert table not in path, f"a cycle of foreign keys through {table}"
        for referrer in sorted(t for t, parents in references.items() if table in parents):
            place(referrer, path | {table})
        placed.add(table)
        order.append(table)

    for table in sorted(references):
        place(table)
    statements = [f'DELETE FROM "{table}"' for table in order]
    statements += [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences]
    return ";\n".join(statements)


def schema_fingerprint(connection: Connection) -> str | None:
    """A digest of everything in the public schema a test could have changed (SCHEMA_FINGERPRINT)."""
    fingerprint = connection.execute(text(SCHEMA_FINGERPRINT)).scalar()
    return None if fingerprint is None else str(fingerprint)


def emptying_script(connection: Connection) -> str:
    """The SQL that empties a database with this one's schema (read from it) and starts its sequences again."""
    references = {table: list(parents) for table, parents in connection.execute(text(TABLE_REFERENCES))}
    sequences = list(connection.execute(text(SEQUENCES)).scalars())
    return _emptying_script(references, sequences)
