"""A center and its tenants: what the center file holds at the top."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from callcenter.acd.config import AcdConfig, AgentEntry, QueueEntry, TierEntry
from callcenter.center.checks import check_center, check_tenant
from callcenter.center.errors import FieldPath, FieldProblems
from callcenter.center.model import (
    Destination,
    Did,
    IvrMenu,
    StrictModel,
    User,
    VoicemailBox,
    one_line,
    shaped,
)
from callcenter.center.reports_config import ReportsConfig
from callcenter.center.schedule import TimeCondition
from callcenter.center.trunks import Gateway, OutboundRoute
from callcenter.crm.config import CrmConfig

__all__ = ["PUBLIC_CONTEXT", "Center", "Retention", "Tenant"]

# The dialplan context every tenant's DIDs are routed in (FreeSWITCH's stock name for calls
# from outside); a tenant's own calls are in the context named after the tenant.
PUBLIC_CONTEXT = "public"


def _not_public(name: str) -> str:
    if name == PUBLIC_CONTEXT:
        raise ValueError("'public' is the context all tenants share for incoming calls")
    return name


TenantName = Annotated[
    str,
    BeforeValidator(one_line),
    shaped(r"[a-z0-9_-]{1,63}", "a tenant name (a-z, 0-9, _ and -)"),
    AfterValidator(_not_public),
]
Domain = Annotated[
    str,
    BeforeValidator(one_line),
    shaped(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?", "a SIP domain in lower case"),
]


# A century: a longer limit is a typo, not a policy.
_MAX_RETENTION_DAYS = 36_500


class Retention(StrictModel):
    """How long the tenant's records are kept, in days (unset: for ever).

    ``recordings_days``: recordings (the stored file and its row), counted from the end of the
    call. ``cdr_days``: call records with their legs, queue waits, comments, dispositions and
    quality scores, and the agents' state history. ``workers/retention.py`` removes them.
    With ``cdr_days`` alone, recordings are kept for ever (but not longer than the call records
    when both are set).
    """

    recordings_days: int | None = Field(None, ge=1, le=_MAX_RETENTION_DAYS)
    cdr_days: int | None = Field(None, ge=1, le=_MAX_RETENTION_DAYS)

    @model_validator(mode="after")
    def _recordings_within_calls(self) -> Retention:
        # A recording kept after its call record is gone can no longer be found by caller,
        # agent or time, yet still holds a person's voice.
        days, cdr = self.recordings_days, self.cdr_days
        if days is not None and cdr is not None and days > cdr:
            raise FieldProblems(
                [
                    (
                        ("recordings_days",),
                        f"{days} days is longer than cdr_days ({cdr}): a recording would "
                        "outlive its call's record",
                    )
                ]
            )
        return self

    @property
    def enabled(self) -> bool:
        return self.recordings_days is not None or self.cdr_days is not None


class Tenant(StrictModel):
    """One company served by the center.

    ``name`` is the tenant id: the ACD's Redis keys, the internal dialplan context and the
    directory of its users are named after it. ``domain`` is the SIP domain its phones register
    to (``1000@acme.example.com``). Names inside a tenant (extensions, queues, menus, ...) only
    need to be unique within it; DID numbers, domains and gateway names are unique in the center.
    ``retention`` says how long its recordings and call records are kept. ``crm``: its CRM
    integration (webhooks, screen-pop, contact lookup; ``callcenter/crm/``), none without.
    """

    name: TenantName
    domain: Domain
    users: list[User] = []
    voicemail_boxes: list[VoicemailBox] = []
    ivr_menus: list[IvrMenu] = []
    time_conditions: list[TimeCondition] = []
    dids: list[Did] = []
    gateways: list[Gateway] = []
    outbound_routes: list[OutboundRoute] = []
    queues: list[QueueEntry] = []
    agents: list[AgentEntry] = []
    tiers: list[TierEntry] = []
    retention: Retention = Retention()
    crm: CrmConfig | None = None
    # Scheduled report e-mails (callcenter/reports/mail.py); none: no e-mail.
    reports: ReportsConfig | None = None

    @model_validator(mode="after")
    def _references(self) -> Tenant:
        problems = check_tenant(self)
        if problems:
            raise FieldProblems(problems)
        return self

    @property
    def internal_context(self) -> str:
        """The dialplan context of the tenant's own phones."""
        return self.name

    @property
    def public_context(self) -> str:
        """The context the tenant's DIDs are routed in (shared by all tenants)."""
        return PUBLIC_CONTEXT

    def voicemail_box_ids(self) -> set[str]:
        """Declared boxes plus the boxes of users with ``voicemail: true``."""
        boxes = {box.id for box in self.voicemail_boxes}
        return boxes | {user.extension for user in self.users if user.voicemail}

    def route_for(self, number: str) -> OutboundRoute | None:
        """The first outbound route whose pattern matches the number."""
        return next((route for route in self.outbound_routes if route.matches(number)), None)

    def destinations(self) -> Iterator[tuple[FieldPath, Destination]]:
        """Every destination in the tenant, with its place in the file."""
        for n, user in enumerate(self.users):
            rules = user.forwarding
            for rule in ("always", "busy", "unreachable"):
                destination = getattr(rules, rule)
                if destination is not None:
                    yield ("users", n, "forwarding", rule), destination
            if rules.no_answer is not None:
                place = ("users", n, "forwarding", "no_answer", "destination")
                yield place, rules.no_answer.destination
        for n, did in enumerate(self.dids):
            yield ("dids", n, "destination"), did.destination
        for n, menu in enumerate(self.ivr_menus):
            for digits, destination in menu.entries.items():
                yield ("ivr_menus", n, "entries", digits), destination
            for field in ("timeout_destination", "invalid_destination"):
                destination = getattr(menu, field)
                if destination is not None:
                    yield ("ivr_menus", n, field), destination
        for n, condition in enumerate(self.time_conditions):
            yield ("time_conditions", n, "open"), condition.open
            yield ("time_conditions", n, "closed"), condition.closed

    def queue(self, name: str) -> QueueEntry | None:
        return next((queue for queue in self.queues if queue.name == name), None)

    def acd_config(self) -> AcdConfig:
        """The ACD part, as ``callcenter run`` loads it into Redis."""
        return AcdConfig(tenant=self.name, queues=self.queues, agents=self.agents, tiers=self.tiers)


class Center(StrictModel):
    """The whole center file (or folder): its tenants."""

    tenants: list[Tenant] = Field(min_length=1)

    @model_validator(mode="after")
    def _across_tenants(self) -> Center:
        problems = check_center(self)
        if problems:
            raise FieldProblems(problems)
        return self

    def tenant(self, name: str) -> Tenant:
        for tenant in self.tenants:
            if tenant.name == name:
                return tenant
        names = ", ".join(t.name for t in self.tenants)
        raise KeyError(f"no tenant {name!r} (tenants: {names})")
