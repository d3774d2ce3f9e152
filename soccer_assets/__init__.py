"""soccer-predict data platform.

Deliberately import-free: ``soccer_serving`` imports the pure ``features`` and ``modeling``
sub-packages and must not pull Dagster in through this module.
"""
