"""SQLite storage: the schema is the contract between runs."""
