"""Storage: SQLAlchemy 2 models, the engine, Alembic migrations (``callcenter db upgrade``).

PostgreSQL (psycopg2) in production and in the tests; SQLite as the embedded default.
"""
