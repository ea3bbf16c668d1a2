"""The database side of append-only: triggers that refuse UPDATE, DELETE and TRUNCATE on
the audit tables, except through the prune gate. Installed by migration 0002 and checked
again after every `migrate` (on SQLite, rebuilding a table for a schema change drops its
triggers)."""

from typing import Any

TABLES = ("audit_auditevent", "audit_audittarget")
SQLITE_PRUNE_PERMIT_TABLE = "audit_prune_permit"

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND coalesce(current_setting('audit.allow_prune', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def install_append_only_triggers(connection: Any) -> None:
    """Idempotent: creates what is missing, replaces what is there."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_FUNCTION)
            for table in TABLES:
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE "
                    f"ON {table} FOR EACH ROW EXECUTE FUNCTION audit_reject_change()"
                )
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change()"
                )
        elif connection.vendor == "sqlite":
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {SQLITE_PRUNE_PERMIT_TABLE} (id INTEGER PRIMARY KEY)"
            )
            for table in TABLES:
                cursor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
                )
                cursor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "  # noqa: S608
                    f"WHEN NOT EXISTS (SELECT 1 FROM {SQLITE_PRUNE_PERMIT_TABLE}) "
                    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
                )


def open_prune_gate(cursor: Any, vendor: str) -> None:
    if vendor == "postgresql":
        cursor.execute("SET LOCAL audit.allow_prune = 'on'")
    elif vendor == "sqlite":
        cursor.execute(f"INSERT INTO {SQLITE_PRUNE_PERMIT_TABLE} (id) VALUES (1)")  # noqa: S608


def close_prune_gate(cursor: Any, vendor: str) -> None:
    if vendor == "postgresql":
        cursor.execute("SET LOCAL audit.allow_prune = 'off'")
    elif vendor == "sqlite":
        cursor.execute(f"DELETE FROM {SQLITE_PRUNE_PERMIT_TABLE}")  # noqa: S608
