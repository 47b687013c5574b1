"""GUI tests use start_app from tests/conftest.py: a started Ledgerboard, offscreen."""
