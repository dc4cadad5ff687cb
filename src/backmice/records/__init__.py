"""The clinic record: domain, storage (SQLite or PostgreSQL), services and audit."""
