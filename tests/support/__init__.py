"""Test-suite helpers shared by every test package (and the benchmarks).

Import as ``from tests.support.mirror import Mirror, Fault, FaultKind``.
"""

from tests.support.mirror import (
    Fault,
    FaultKind,
    Mirror,
    RecordedRequest,
    serve_mirror,
    shared_football_data,
)

__all__ = [
    "Fault",
    "FaultKind",
    "Mirror",
    "RecordedRequest",
    "serve_mirror",
    "shared_football_data",
]
