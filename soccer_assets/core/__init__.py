"""Pure domain rules: the canonical schema, team names, seasons, data-quality rules, the quality gate.

No IO and no environment here: every function takes what it needs as arguments.
"""
