"""Dialplans from templates: the center's configuration rendered into FreeSWITCH XML,
validated before anything reaches a switch node."""
