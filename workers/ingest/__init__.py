"""CDR ingest: the controller's event Stream of a tenant into the database, in batches.

``batch.py`` turns Stream entries into rows (pure), ``costs.py`` prices outbound calls from
the center's rate tables, ``writer.py`` writes a batch in one transaction (COPY and a merge on
PostgreSQL), ``consumer.py`` reads the Stream with a consumer group and acknowledges only what
is committed, ``tasks.py`` holds the Celery tasks.
"""
