"""The simulated FreeSWITCH: the real event socket protocol over TCP, a channel model, an XML
dialplan, scripted phones and callers, and outbound (``socket``) mode.

    from callcenter.sim import SimSwitch
    switch = SimSwitch(password="ClueCon", time_scale=0.1)  # every simulated delay x 0.1
    await switch.start("127.0.0.1", 0)                      # port 0: a free one, see switch.port
    phone = switch.phones.register("1000", "default", answer_after=0.5)  # user/1000@default
    phone.update(reject="USER_BUSY")                        # or answer_after=None: never answers
    call = await switch.callers.dial("74951112233", caller_number="4951234567", caller_name="Ivan")
    await call.wait_answered(); await call.press("1#"); await call.hangup()
    await switch.stop()

``SimSwitch`` options: ``hostname``, ``recordings_dir`` (record_session/uuid_record WAVs,
voicemail messages), ``dialplan_dir`` (FreeSWITCH dialplan XML; the captures' contexts are built
in), ``conf_dir`` (a node configuration folder as FreeSWITCH's vanilla conf lays it out:
dialplan/, directory/, ivr_menus/, sip_profiles/, vars.xml; see ``callcenter.sim.conf``; re-read
by ``reloadxml``, new gateways start on ``sofia profile <name> rescan``),
``time_scale``, ``default_playback_seconds``, ``users`` (``userauth``: ``{"u@d": "pw"}``),
``allowed_peers`` (ACL, CIDRs), ``max_backlog``/``max_lost`` (dropping slow listeners),
``auth_timeout``, ``heartbeat_seconds`` (HEARTBEAT events; None: none).
``switch.far_ends`` scripts what answers behind ``sofia/gateway/...``; ``switch.core.clock`` is
the time dialplan time conditions see.

``serve(host, port, password, **options)`` runs one until cancelled (``callcenter sim``). See
``callcenter.sim.api`` for the ``sim_*`` api commands that script it from any ESL client
(``sim_call``, ``sim_phone``, ``sim_phones``, ``sim_dtmf``, ``sim_hangup``). Dialplan
applications: ``callcenter.sim.apps`` (answer, bridge, park, playback, transfer, socket...),
``ivr`` (read, play_and_get_digits), ``ivr_menu`` (ivr), ``node_apps`` (voicemail, respond,
limit, limit_execute, db). Variable expansion (``${var}``, ``${api(args)}``, backslash escapes)
is FreeSWITCH's, ``callcenter.sim.expand``; the dialplan is hunted as mod_dialplan_xml hunts it,
``callcenter.sim.dialplan``.
"""

from callcenter.sim.endpoints import Answering, Caller, Callers, FarEnds, Phone, Phones
from callcenter.sim.server import SimSwitch, serve

__all__ = ["Answering", "Caller", "Callers", "FarEnds", "Phone", "Phones", "SimSwitch", "serve"]
