"""Dagster objects only, wiring the pure layers, sources and storage together.

Loaded by ``dg.load_from_defs_folder`` (``soccer_assets/definitions.py``): every module here is
imported when the code location loads, and the Dagster objects at its top level are collected.
"""

# The settings the modules here are being built from. ``build_definitions`` sets it before it
# imports them; None means the environment's settings (read when the partitions are first built).
LOADING_CONFIG = None
