"""CRM webhooks: the controller's event Stream of a tenant, read with a consumer group of its
own, turned into signed JSON POSTs to the tenant's receivers.

``fold.py`` turns Stream entries into events (``callcenter/crm/payloads.py`` shapes them),
``consumer.py`` reads the Stream (pending entries first, one run per tenant at a time,
acknowledged once their deliveries are queued), ``delivery.py`` makes one HTTP attempt and
says whether to try again, ``tasks.py`` holds the Celery tasks (queue ``webhooks``).
"""
