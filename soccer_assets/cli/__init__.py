"""Entry points: the ``soccer`` command tree and the functions behind it. Nothing imports this package."""
