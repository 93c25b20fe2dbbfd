"""The ACD part of the center's configuration file (YAML): queues, agents, skills, tiers.

    tenant: default
    queues:
      - name: support
        strategy: longest-idle-agent
        wrap_up_seconds: 10
    agents:
      - id: "1000"
        contact: user/1000@default
        skills: {english: 5}
    tiers:
      - {queue: support, agent: "1000", level: 1, position: 1}

A queue may also list the disposition codes its agents choose from after a call and the rules
of its automatic quality score (``QualityRules``); neither goes to Redis: the workers read them
from the file.

Loading it into Redis adds and updates; it never logs an agent out (a reload is harmless).
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from callcenter.acd.model import QueueConfig, Strategy
from callcenter.acd.store import AcdStore

if TYPE_CHECKING:  # callcenter.center builds on this module's entries
    from callcenter.center import Center

__all__ = [
    "MIN_ANNOUNCE_SECONDS",
    "AcdConfig",
    "AcdConfigError",
    "DispositionCode",
    "QualityPenalties",
    "QualityRules",
    "QueueEntry",
    "load_acd_and_center",
    "load_acd_config",
]

# The shortest period of queue announcements a center file may ask for.
MIN_ANNOUNCE_SECONDS = 5.0

_DISPOSITION_CODE = re.compile(r"[a-z0-9_-]{1,64}")


def _disposition_code(value: str) -> str:
    if not _DISPOSITION_CODE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a disposition code (a-z, 0-9, _ and -, at most 64 characters)"
        )
    return value


# A disposition code is stored with the call and shown in reports: a short slug.
DispositionCode = Annotated[str, AfterValidator(_disposition_code)]

# What Redis keeps of a queue (the rest of an entry is for the workers).
_REDIS_FIELDS = {f.name for f in fields(QueueConfig)}


class AcdConfigError(Exception):
    """The file cannot be used; the message names the file and each wrong field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QualityPenalties(_Model):
    """Points a call loses for each rule it breaks (0 turns the rule off); the score starts at
    100 and never goes below 0."""

    slow_answer: int = Field(10, ge=0, le=100)
    long_wait: int = Field(15, ge=0, le=100)
    long_hold: int = Field(10, ge=0, le=100)
    silence: int = Field(10, ge=0, le=100)
    overtalk: int = Field(10, ge=0, le=100)
    abrupt_hangup: int = Field(30, ge=0, le=100)
    missing_disposition: int = Field(20, ge=0, le=100)


class QualityRules(_Model):
    """The automatic quality rules of a queue's answered calls (``workers/quality.py``).

    A call loses a rule's penalty when it was answered later than ``answer_within_seconds``
    (unset: the queue's ``service_level_seconds``), waited longer than ``max_wait_seconds``
    (both rules may apply to one call), spent longer than ``max_hold_seconds`` on hold, was
    silent for more than ``max_silence_share`` of its recording, had more than
    ``max_overtalk_seconds`` of both sides talking at once, was hung up by the agent less than
    ``abrupt_agent_hangup_seconds`` after the bridge, or was left without a disposition
    (``require_disposition``, for a queue that has dispositions).
    """

    answer_within_seconds: float | None = Field(None, gt=0)
    max_wait_seconds: float = Field(120.0, gt=0)
    max_hold_seconds: float = Field(60.0, ge=0)
    max_silence_share: float = Field(0.3, ge=0, le=1)
    max_overtalk_seconds: float = Field(10.0, ge=0)
    abrupt_agent_hangup_seconds: float = Field(10.0, ge=0)
    require_disposition: bool = True
    penalties: QualityPenalties = QualityPenalties()


class QueueEntry(_Model):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.@-]+$")
    strategy: Strategy = Strategy.LONGEST_IDLE
    wrap_up_seconds: float = Field(10.0, ge=0)
    max_no_answer: int = Field(3, ge=0)
    priority_weight_seconds: float = Field(60.0, ge=0)
    service_level_seconds: float = Field(20.0, gt=0)
    max_wait_seconds: float = Field(0.0, ge=0)
    max_wait_no_agent_seconds: float = Field(0.0, ge=0)
    overflow: str = Field("", pattern=r"^$|^queue:[A-Za-z0-9_.@-]+$|^extension:[^\s@]+@[^\s@]+$")
    exit_key: str = Field("", pattern=r"^[0-9*#]?$")
    # Position in line and/or estimated wait every announce_seconds (0 = never).
    announce_seconds: float = Field(0.0, ge=0)
    announce_position: bool = True
    announce_wait: bool = True
    ring_progressively_delay_seconds: float = Field(10.0, gt=0)
    # Codes an agent may give a call after it (empty: the queue does not use dispositions).
    dispositions: list[DispositionCode] = []
    quality: QualityRules = QualityRules()

    def quality_rules(self) -> QualityRules:
        """The rules as the scorer applies them: the answer limit defaults to the service level,
        and a disposition is only required where the queue has codes to choose from."""
        return self.quality.model_copy(
            update={
                "answer_within_seconds": self.answer_within_seconds(),
                "require_disposition": self.quality.require_disposition and bool(self.dispositions),
            }
        )

    def answer_within_seconds(self) -> float:
        limit = self.quality.answer_within_seconds
        return self.service_level_seconds if limit is None else limit

    @field_validator("announce_seconds")
    @classmethod
    def _announce_period(cls, value: float) -> float:
        # An announcement itself lasts a few seconds: a shorter period would cut each one off
        # with the next and leave no music between them.
        if 0 < value < MIN_ANNOUNCE_SECONDS:
            raise ValueError(f"0 (never) or at least {MIN_ANNOUNCE_SECONDS:g} seconds")
        return value


class AgentEntry(_Model):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.@-]+$")
    contact: str = Field(min_length=1, pattern=r"^[^\s{}']+$")
    skills: dict[str, int] = {}
    # Seconds out of offers after rejecting one, being busy, or not answering.
    reject_delay_seconds: float = Field(0.0, ge=0)
    busy_delay_seconds: float = Field(0.0, ge=0)
    no_answer_delay_seconds: float = Field(0.0, ge=0)


class TierEntry(_Model):
    queue: str
    agent: str
    level: int = Field(1, ge=1)
    position: int = Field(1, ge=1)


class AcdConfig(_Model):
    tenant: str = Field("default", pattern=r"^[A-Za-z0-9_.-]+$")
    queues: list[QueueEntry] = []
    agents: list[AgentEntry] = []
    tiers: list[TierEntry] = []

    @model_validator(mode="after")
    def _references_resolve(self) -> AcdConfig:
        queues = {q.name for q in self.queues}
        agents = {a.id for a in self.agents}
        problems = []
        for n, q in enumerate(self.queues):
            if q.overflow.startswith("queue:") and q.overflow[6:] not in queues:
                problems.append(f"queues.{n}.overflow: no queue {q.overflow[6:]!r}")
            if q.max_wait_seconds and not q.overflow:
                problems.append(f"queues.{n}.overflow: needed with max_wait_seconds")
            if q.max_wait_no_agent_seconds and not q.overflow:
                problems.append(f"queues.{n}.overflow: needed with max_wait_no_agent_seconds")
            if q.announce_seconds and not (q.announce_position or q.announce_wait):
                problems.append(
                    f"queues.{n}.announce_seconds: nothing to announce "
                    "(announce_position and announce_wait are both false)"
                )
            problems.extend(_queue_quality_problems(n, q))
        for n, tier in enumerate(self.tiers):
            if tier.queue not in queues:
                problems.append(f"tiers.{n}.queue: no queue {tier.queue!r}")
            if tier.agent not in agents:
                problems.append(f"tiers.{n}.agent: no agent {tier.agent!r}")
        if len(agents) != len(self.agents):
            problems.append("agents: an id appears twice")
        if len(queues) != len(self.queues):
            problems.append("queues: a name appears twice")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    async def apply(self, store: AcdStore) -> None:
        """Add or update everything in Redis (agents keep their current state)."""
        for q in self.queues:
            await store.put_queue(
                # QueueConfig's fields are the entry's, by the same names.
                QueueConfig(**q.model_dump(include=_REDIS_FIELDS))
            )
        for a in self.agents:
            await store.put_agent(
                a.id,
                a.contact,
                a.skills,
                reject_delay=a.reject_delay_seconds,
                busy_delay=a.busy_delay_seconds,
                no_answer_delay=a.no_answer_delay_seconds,
            )
        for t in self.tiers:
            await store.put_tier(t.queue, t.agent, t.level, t.position)


def _queue_quality_problems(n: int, queue: QueueEntry) -> list[str]:
    problems = []
    first: dict[str, int] = {}
    for k, code in enumerate(queue.dispositions):
        if code in first:
            also = f"dispositions.{first[code]}"
            problems.append(f"queues.{n}.dispositions.{k}: {code!r} appears twice (also {also})")
        first.setdefault(code, k)
    rules = queue.quality
    asked = "require_disposition" in rules.model_fields_set and rules.require_disposition
    if asked and not queue.dispositions:
        problems.append(
            f"queues.{n}.quality.require_disposition: the queue has no dispositions "
            "to require (list them in dispositions)"
        )
    answer = queue.answer_within_seconds()
    # Only a limit the file sets is held to this: the default must not make a queue with a
    # long service level (and no quality block) invalid.
    if "max_wait_seconds" in rules.model_fields_set and rules.max_wait_seconds < answer:
        problems.append(
            f"queues.{n}.quality.max_wait_seconds: {rules.max_wait_seconds:g} s is shorter than "
            f"the answer limit of {answer:g} s (answer_within_seconds, else the queue's "
            "service_level_seconds)"
        )
    return problems


def load_acd_config(path: str | Path, tenant: str | None = None) -> AcdConfig:
    """The ACD part of a center file, for one tenant (see ``load_acd_and_center``)."""
    return load_acd_and_center(path, tenant)[0]


def load_acd_and_center(
    path: str | Path, tenant: str | None = None
) -> tuple[AcdConfig, Center | None]:
    """The ACD part of a center file, for one tenant, and the whole center (None for a
    single-tenant ACD file, which has no routes, users or CRM hooks).

    Two forms are read: the single-tenant ACD file (top-level ``tenant``, ``queues``, ``agents``,
    ``tiers``; other top-level keys are ignored), and the center file of issue 4 (a top-level
    ``tenants`` list, or a folder of such files; see ``callcenter.center``), which is checked
    whole and from which ``tenant`` is taken. ``tenant`` may be left out when the file holds
    one tenant; with the single-tenant form it must match the file's tenant when given.
    """
    file = Path(path)
    if file.is_dir():
        return _from_center(file, tenant)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise AcdConfigError(f"{file}: file not found") from exc
    except yaml.YAMLError as exc:
        raise AcdConfigError(f"{file}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise AcdConfigError(f"{file}: expected a mapping at the top level")
    if "tenants" in data:
        return _from_center(file, tenant)
    acd = {k: data[k] for k in ("tenant", "queues", "agents", "tiers") if k in data}
    try:
        config = AcdConfig.model_validate(acd)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(file)"
            lines.append(f"  {where}: {err['msg']}")
        raise AcdConfigError(f"{file}: invalid configuration:\n" + "\n".join(lines)) from exc
    if tenant is not None and tenant != config.tenant:
        raise AcdConfigError(f"{file}: holds tenant {config.tenant!r} only, not {tenant!r}")
    return config, None


def _from_center(path: Path, tenant: str | None) -> tuple[AcdConfig, Center]:
    # Imported here: callcenter.center builds on this module's entries.
    from callcenter.center import CenterError, load_center

    try:
        center = load_center(path)
    except CenterError as exc:
        raise AcdConfigError(f"{path}: invalid center configuration:\n{exc}") from exc
    names = [t.name for t in center.tenants]
    if tenant is None:
        if len(names) > 1:
            raise AcdConfigError(
                f"{path}: holds several tenants ({', '.join(names)}): choose one "
                "(callcenter run --tenant NAME)"
            )
        tenant = names[0]
    if tenant not in names:
        raise AcdConfigError(f"{path}: no tenant {tenant!r} (tenants: {', '.join(names)})")
    return center.tenant(tenant).acd_config(), center
