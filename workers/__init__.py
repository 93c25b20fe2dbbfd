"""Celery workers: CDR ingest from the controller's event Stream, recording post-processing,
automatic quality scores, retention (``workers/app.py`` lists them)."""
