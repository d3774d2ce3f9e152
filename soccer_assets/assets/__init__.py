"""Asset definitions: they wire sources, pure functions and storage together, nothing more."""
