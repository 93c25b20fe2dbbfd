"""Reports: the questions a manager asks of the center, answered from the CDRs.

Every report takes a ``ReportRequest`` (tenant, period in the tenant's time zone, filters) and
returns a ``Report``: columns, rows, totals and charts in one generic shape, so the terminal,
the API, the pages, CSV/XLSX/PDF export and the scheduled e-mail all show any report the same
way. ``registry.py`` names them. No web here.
"""
