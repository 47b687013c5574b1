"""The local store: peewee models over SQLite (WAL) by default, PostgreSQL by URL."""
