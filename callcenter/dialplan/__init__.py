"""Dialplans from templates: the center's configuration rendered into FreeSWITCH XML
(``render.py``, templates in ``dialplan_templates/``), validated (``validate.py``) before
anything reaches a switch node (``push.py``: diff, write, reloadxml, roll back)."""
