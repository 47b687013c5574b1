"""Ledgerboard: a company's Stripe data on its own machine, turned into live KPIs."""

import sys

__version__ = "0.1.0"
APP_NAME = "Ledgerboard"


def _import_peewee_without_postgresql_drivers() -> None:
    """peewee (and its schema migrator, through its CockroachDB support) imports every
    PostgreSQL driver it finds as it is imported, which slowed every start, SQLite's too; the
    store gives peewee psycopg when it opens a PostgreSQL database (store.dialect)."""
    if "peewee" in sys.modules:
        return
    blocked = ("psycopg", "psycopg2", "psycopg2cffi", "playhouse.cockroachdb")
    blocked = [name for name in blocked if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # importing it fails at once, which peewee allows for
    try:
        import peewee  # noqa: F401
        import playhouse.migrate  # noqa: F401
    except ImportError:
        pass  # a module that needs peewee says so when it imports it
    finally:
        for name in blocked:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


_import_peewee_without_postgresql_drivers()
