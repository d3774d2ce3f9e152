"""Storage: the SQL match warehouse and the file lake (raw bytes and Parquet)."""
