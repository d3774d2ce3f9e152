"""Where data lives: the Parquet lake, the SQL warehouse (tables and functions), the MLflow model store."""
