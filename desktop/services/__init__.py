"""Services: no widgets. Qt-free code, except the thin adapters that need signals."""
