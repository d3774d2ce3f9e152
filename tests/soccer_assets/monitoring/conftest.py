"""The monitoring replay reuses the serving tests' fixtures: the session's MLflow server (booted at
collection), the real E0 data and the ratings model trained on the seasons before 2023-24, a
PostgreSQL database per module and the private Redis namespace."""

from tests.soccer_serving.conftest import (  # noqa: F401 - fixtures and hooks re-exported for this package
    e0_features,
    e0_matches,
    mlflow_uri,
    pg_module_url,
    pytest_collection_modifyitems,
    pytest_sessionfinish,
    ratings_trained,
    redis_namespace,
)
