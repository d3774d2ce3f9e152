-- The warehouse database (POSTGRES_DB=soccer) exists already; Dagster and MLflow get their own.
CREATE DATABASE dagster OWNER soccer;
CREATE DATABASE mlflow OWNER soccer;
