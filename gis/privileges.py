"""What the app role may do in the database: the one place its grants are written.

The app connects as a role that is neither a superuser nor the owner of the tables, so it
cannot ``ALTER TABLE``, ``DISABLE TRIGGER`` or ``SET session_replication_role``: the triggers
that keep the audit log append-only hold against it. Migrations run as the owner and end by
calling :func:`grant_app_privileges` (gis/migrations/env.py), so every table a migration adds
is granted in the same run; default privileges cover tables the owner creates by other means.

The app role may read and write every table of schema public, use its sequences and call its
functions, except:

- append-only tables (:data:`APPEND_ONLY_TABLES`): INSERT and SELECT only;
- ``alembic_version``: SELECT only (``/api/v1/health`` reads it; only migrations write it).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

# Rows are only ever added; the app may not update, delete or truncate them (triggers refuse
# it for everyone too, but a superuser or owner could disable them).
APPEND_ONLY_TABLES = ("audit_log", "points_ledger")
READ_ONLY_TABLES = ("alembic_version",)
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


# What the connected role owns in schema public, apart from the extensions' own objects.
_NOT_EXTENSION_MEMBER = (
    "NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = '{catalog}'::regclass "
    "AND d.objid = {alias}.oid AND d.deptype = 'e')"
)
_OWNED_RELATIONS = (
    "SELECT c.relname, c.relkind FROM pg_class c "
    "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S') "
    "AND pg_has_role(c.relowner, 'USAGE') AND "
    + _NOT_EXTENSION_MEMBER.format(catalog="pg_class", alias="c")
    + " ORDER BY c.relname"
)
_OWNED_FUNCTIONS = (
    "SELECT p.oid::regprocedure::text FROM pg_proc p "
    "WHERE p.pronamespace = 'public'::regnamespace AND pg_has_role(p.proowner, 'USAGE') AND "
    + _NOT_EXTENSION_MEMBER.format(catalog="pg_proc", alias="p")
    + " ORDER BY 1"
)


def grant_app_privileges(connection: Connection, app_role: str) -> list[str]:
    """Grant ``app_role`` what the app needs on everything the connected role owns in public.

    Idempotent: privileges are first revoked, then granted, so a table that became append-only
    loses what it had. Returns the statements run (for logs and tests).
    """
    preparer = connection.dialect.identifier_preparer
    app = preparer.quote(app_role)
    owned = connection.execute(text(_OWNED_RELATIONS)).all()
    functions = connection.execute(text(_OWNED_FUNCTIONS)).scalars().all()
    tables = [name for name, kind in owned if kind != "S"]
    sequences = [name for name, kind in owned if kind == "S"]
    statements = [f"GRANT USAGE ON SCHEMA public TO {app}"]
    for table in tables:
        quoted = preparer.quote(table)
        statements.append(f"REVOKE ALL ON TABLE {quoted} FROM {app}")
        if table in APPEND_ONLY_TABLES:
            statements.append(f"GRANT SELECT, INSERT ON TABLE {quoted} TO {app}")
        elif table in READ_ONLY_TABLES:
            statements.append(f"GRANT SELECT ON TABLE {quoted} TO {app}")
        else:
            statements.append(f"GRANT {TABLE_PRIVILEGES} ON TABLE {quoted} TO {app}")
    for sequence in sequences:
        quoted = preparer.quote(sequence)
        statements.append(f"REVOKE ALL ON SEQUENCE {quoted} FROM {app}")
        statements.append(f"GRANT USAGE ON SEQUENCE {quoted} TO {app}")
    # PostGIS's functions belong to the extension; PUBLIC may call them.
    statements += [f"GRANT EXECUTE ON ROUTINE {function} TO {app}" for function in functions]
    statements += [
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {TABLE_PRIVILEGES} ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO {app}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO {app}",
    ]
    for statement in statements:
        connection.execute(text(statement))
    return statements
