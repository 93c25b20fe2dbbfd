"""Who is asking: the address of the client, not of the proxy in front of the API.

Behind a TLS proxy every request comes from the proxy's address; the client's is in the
``X-Forwarded-For`` header the proxy adds. That header is believed only from the proxies the
settings trust (``[http] trusted_proxies``): anybody else could write any address in it, and
so escape the sign-in limits or blame another address in the audit log. Each trusted proxy
appends the address it got the request from, so the client is the last address of the chain
that is not one of them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

__all__ = ["Network", "client_address", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """``["10.0.0.1", "192.168.0.0/16", "::1"]`` as networks; ValueError names a bad one."""
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"trusted proxy {value!r} is not an IP address or network (e.g. 10.0.0.5 or "
                "10.0.0.0/8)"
            ) from None
    return tuple(out)


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(request: web.Request, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the last
    address of ``X-Forwarded-For`` that is not a trusted proxy ("" when there is no peer)."""
    address = request.remote or ""
    if not trusted or not _trusted(address, trusted):
        return address
    chain = [
        hop.strip() for hop in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")
    ]
    for hop in reversed([hop for hop in chain if hop]):
        if not _trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return address  # not an address: the proxy's own is all that is known
        address = hop
    return address
