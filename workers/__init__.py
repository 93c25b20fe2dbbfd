"""Celery workers (CDRs, recordings, QA, webhooks, reports): arrive with the CDR issue."""
