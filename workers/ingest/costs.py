"""What a call through a gateway cost, from the tenant's rate tables (the center file): the
rate of the longest prefix of the dialed number in that gateway's deck, per second of billsec."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from callcenter.center.tenant import Center

__all__ = ["RatePricer"]

_CENT_FRACTION = Decimal("0.00001")


class RatePricer:
    def __init__(self, center: Center | None, tenant: str) -> None:
        self._tenant = (
            next((t for t in center.tenants if t.name == tenant), None) if center else None
        )

    def __call__(
        self, gateway: str, number: str, billsec: int
    ) -> tuple[str, Decimal, Decimal] | None:
        if self._tenant is None or not number:
            return None
        route = self._tenant.route_for(number)
        table = route.rates.get(gateway) if route is not None else None
        rate = table.lookup(number) if table is not None else None
        if rate is None:
            return None
        cost = (rate.per_minute * billsec / 60).quantize(_CENT_FRACTION, rounding=ROUND_HALF_UP)
        return rate.prefix, rate.per_minute, cost
