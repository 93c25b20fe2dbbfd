"""The simulated FreeSWITCH: the real event socket protocol over TCP, a channel model, an XML
dialplan, scripted phones and callers, and outbound (``socket``) mode.

    from callcenter.sim import SimSwitch
    switch = SimSwitch(password="ClueCon", time_scale=0.1)
    await switch.start("127.0.0.1", 0)            # switch.port
    switch.phones.register("1000", "default", answer_after=0.5)
    call = await switch.callers.dial("74951112233", caller_number="4951234567")
    await switch.stop()

See ``callcenter.sim.api`` for the ``sim_*`` api commands that script it from any ESL client.
"""

from callcenter.sim.endpoints import Answering, Caller, Phone
from callcenter.sim.server import SimSwitch, serve

__all__ = ["Answering", "Caller", "Phone", "SimSwitch", "serve"]
