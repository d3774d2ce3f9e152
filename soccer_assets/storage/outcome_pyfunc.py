"""The code MLflow stores with a registered outcome model (models-from-code: no pickle).

``mlflow.pyfunc.load_model`` and ``mlflow models serve`` run this file to get the model object; the
pipeline and the API never do (they read the files, :mod:`soccer_assets.storage.model_package`).
"""

import mlflow.models

from soccer_assets.storage.model_store import OutcomeModel

mlflow.models.set_model(OutcomeModel())
