"""The API's routes, one ``APIRouter`` per resource (``create_app`` includes them in this order).

* :mod:`~soccer_serving.routes.predict`: ``POST /v1/predict``, ``POST /v1/predict/batch``;
* :mod:`~soccer_serving.routes.jobs`: ``POST /v1/jobs``, ``GET /v1/jobs/{job_id}``;
* :mod:`~soccer_serving.routes.model`: ``GET /v1/model``, ``POST /v1/model/reload``;
* :mod:`~soccer_serving.routes.ops`: ``GET /healthcheck``, ``GET /ready``, ``GET /metrics``.

Handlers get the shared state and settings from :mod:`soccer_serving.deps` only.
"""
