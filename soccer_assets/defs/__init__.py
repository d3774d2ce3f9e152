"""Dagster objects only, wiring the pure layers, sources and storage together.

Loaded by ``dg.load_from_defs_folder`` (``soccer_assets/definitions.py``): every module here is
imported when the code location loads, and the Dagster objects at its top level are collected.
"""
