"""Hand-made calls and legs, and a center with gateways, for the lines/tariffs/profile tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from callcenter.center.tenant import Center
from callcenter.db.models import Call, CallLeg

TENANT = "acme"


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def add_call(engine: Engine, uuid: str, **fields: Any) -> None:
    row: dict[str, Any] = {"call_uuid": uuid, "tenant": TENANT}
    row.update(fields)
    if "started_at" in row and "ended_at" in row and "duration" not in row:
        row["duration"] = int((row["ended_at"] - row["started_at"]).total_seconds())
    with engine.begin() as conn:
        conn.execute(insert(Call), [row])


def add_leg(engine: Engine, uuid: str, call: str, **fields: Any) -> None:
    row: dict[str, Any] = {"leg_uuid": uuid, "call_uuid": call, "tenant": TENANT, "role": "other"}
    row.update(fields)
    with engine.begin() as conn:
        conn.execute(insert(CallLeg), [row])


def gateway(name: str, channels: int) -> dict[str, Any]:
    return {"name": name, "proxy": f"{name}.example.com", "register": False, "channels": channels}


def center(tmp_path: Path, decks: dict[str, str] | None = None) -> Center:
    """Gateways gw-a (2 lines), gw-b (5), gw-c (1); route "ru" for +7... over gw-a and gw-b,
    least-cost when ``decks`` (gateway -> CSV text) are given; route "any" for the rest."""
    rates = {}
    for name, body in (decks or {}).items():
        path = tmp_path / f"{name}.csv"
        path.write_text(body, encoding="utf-8")
        rates[name] = str(path)
    return Center.model_validate(
        {
            "tenants": [
                {
                    "name": TENANT,
                    "domain": "acme.example.com",
                    "gateways": [gateway("gw-a", 2), gateway("gw-b", 5), gateway("gw-c", 1)],
                    "outbound_routes": [
                        {"name": "ru", "pattern": r"^\+7", "gateways": ["gw-a", "gw-b"],
                         "rates": rates},
                        {"name": "any", "pattern": ".", "gateways": ["gw-c"]},
                    ],
                }
            ]
        }
    )  # fmt: skip


def money(text: str) -> Decimal:
    return Decimal(text)
