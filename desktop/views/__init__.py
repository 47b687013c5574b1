"""Qt widgets only: no SQL, no HTTP. Each view receives its services through its constructor."""
