"""What the API's handlers work with: Redis, the database, the center's configuration, and
the live call control of the controller that serves the API (when there is one)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar

from redis.asyncio import Redis
from sqlalchemy import Engine

from callcenter.acd.store import AcdStore
from callcenter.center.tenant import Center, Tenant
from callcenter.controller.call_control import CallControl, CallControlSettings
from callcenter.esl.client import InboundClient
from callcenter.settings import HttpSettings

__all__ = ["ApiContext", "PresignedStorage"]

P = ParamSpec("P")
T = TypeVar("T")


class PresignedStorage(Protocol):
    def presigned_get(
        self,
        uri: str,
        *,
        expires_seconds: int = 300,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> str: ...


@dataclass
class ApiContext:
    redis: Redis
    engine: Engine
    # The tenants served, in order; the center's configuration when the API was given one.
    tenants: list[str]
    center: Center | None = None
    http: HttpSettings = field(default_factory=HttpSettings)
    # Per tenant: the controller's live call control, set once its switch connections are up.
    call_control: dict[str, CallControl] = field(default_factory=dict)
    # The prefix of the API's own Redis keys that are not a tenant's (sign-in limits).
    key_namespace: str = "cc"

    # Where the center file is (read again for the admin's view and dialplan pushes, so an
    # edited file shows without a restart), the dialplan templates that override the
    # project's, and each switch node's configuration folder (to push dialplans to).
    center_path: Path | None = None
    templates: Path | None = None
    conf_dirs: dict[str, Path] = field(default_factory=dict)
    # The workers' storage folder of processed recordings: only files under it are served
    # (None: wherever the recording's row says, for an s3:// storage or the tests).
    recordings_root: Path | None = None
    # The workers' S3 storage, when they keep recordings in a bucket: the API sends the
    # browser to a presigned URL of the object (None: s3:// recordings cannot be served).
    recording_storage: PresignedStorage | None = None
    # The controller's node clients once its switch connections are up (live call control).
    switches: dict[str, InboundClient] = field(default_factory=dict)

    async def controller_up(
        self,
        clients: Mapping[str, InboundClient],
        store: AcdStore,
        settings: CallControlSettings | None = None,
    ) -> None:
        """Called by the controller once it routes calls: live calls can be driven now (for a
        tenant of the center file, whose users, routes and gateways call control needs)."""
        self.switches = dict(clients)
        tenant = self.tenant_config(store.keys.tenant)
        if tenant is None or tenant.name in self.call_control:
            return
        control = CallControl(clients, store, tenant, settings)
        await control.start()
        self.call_control[tenant.name] = control

    async def center_reloaded(self, center: Center | None) -> None:
        """The controller read the center file again: its dispositions, CRM settings and
        routes are the ones used from now on, by the API and by live call control."""
        if center is None:
            return  # a single-tenant ACD file: nothing here came from it
        self.center = center
        for name, control in self.call_control.items():
            tenant = self.tenant_config(name)
            if tenant is not None:
                control.use_tenant(tenant)

    async def close(self) -> None:
        """Stop what ``controller_up`` started (background rings of consultations...)."""
        controls, self.call_control = self.call_control, {}
        for control in controls.values():
            await control.stop()

    def store(self, tenant: str) -> AcdStore:
        return AcdStore(self.redis, tenant)

    def tenant_config(self, tenant: str) -> Tenant | None:
        if self.center is None:
            return None
        return next((t for t in self.center.tenants if t.name == tenant), None)

    async def db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a synchronous database call in a thread: the loop also carries the calls."""
        return await asyncio.to_thread(fn, *args, **kwargs)
