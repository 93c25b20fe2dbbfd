"""The center's settings: one typed object, read from a TOML file and the environment.

Precedence: defaults < file (``--config`` or ``CALLCENTER_CONFIG``) < environment variables
``CALLCENTER_<SECTION>__<FIELD>`` (e.g. ``CALLCENTER_ESL__PORT=8022``). This module is the only
place that reads ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "EslSettings",
    "HttpSettings",
    "LoggingSettings",
    "MailSettings",
    "Settings",
    "SettingsError",
    "SimSettings",
    "WorkerSettings",
    "XmlCurlSettings",
    "load_settings",
]

ENV_PREFIX = "CALLCENTER_"


class SettingsError(Exception):
    """The configuration cannot be used; the message names the file and the field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EslSettings(_Section):
    """How the controller and the CLI reach a switch's event socket."""

    host: str = "127.0.0.1"
    port: int = Field(8021, ge=1, le=65535)
    password: str = "ClueCon"
    connect_timeout: float = Field(5.0, gt=0)
    command_timeout: float = Field(30.0, gt=0)
    reconnect_initial: float = Field(0.5, gt=0)
    reconnect_max: float = Field(30.0, gt=0)


class SimSettings(_Section):
    """The simulated switch (``callcenter sim``)."""

    host: str = "127.0.0.1"
    esl_port: int = Field(8021, ge=0, le=65535)
    password: str = "ClueCon"
    recordings_dir: Path = Path("var/recordings")
    dialplan_dir: Path | None = None
    time_scale: float = Field(1.0, gt=0, description="below 1 makes simulated delays shorter")


class XmlCurlSettings(_Section):
    """The mod_xml_curl endpoint (``callcenter xmlcurl``): where it listens, and the binding's
    ``gateway-credentials`` (``freeswitch_conf/autoload_configs/xml_curl.conf.xml``)."""

    host: str = "127.0.0.1"
    # Beside the HTTP API (8080) on the same host.
    port: int = Field(8081, ge=0, le=65535)
    username: str = "freeswitch"
    password: str = "change-me"


class WorkerSettings(_Section):
    """The Celery workers (``callcenter worker``): CDR ingest, recordings, quality, retention."""

    # The Celery broker; empty means the center's ``redis_url``.
    broker_url: str = ""
    # The center file (rates for call costs, disposition lists, quality rules, retention).
    center: Path | None = None
    # Tenants whose event Streams are ingested besides those that announce themselves (every
    # controller adds its tenant to ``cc:tenants``).
    tenants: list[str] = []
    # Also ingest every tenant a controller announced in Redis (``cc:tenants``); off, only
    # ``tenants`` are (the demo, on a Redis other centers may share).
    discover_tenants: bool = True

    @field_validator("tenants", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        # From the environment a list is written "acme,globex".
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    # Stream entries per database transaction, and how often the ingest runs (seconds).
    batch_size: int = Field(20_000, ge=1, le=100_000)
    ingest_interval: float = Field(1.0, gt=0)
    # How long a tenant's ingest stays locked by a worker that died in it.
    ingest_lock_seconds: float = Field(15.0, gt=0)
    # Where the switch writes recordings (the controller's --recordings-dir, shared with the
    # workers), and where processed recordings are kept: a folder, or s3://bucket/prefix.
    recordings_dir: Path = Path("var/recordings")
    storage: str = "var/storage"
    # Credentials of an s3:// storage (kept out of the storage string, which gets logged).
    s3_access_key: str = ""
    s3_secret_key: str = ""
    recording_format: str = Field("flac", pattern="^(flac|ogg|mp3)$")
    # Seconds after a call ends before it is scored (the agent's wrap-up may add a disposition).
    quality_delay: float = Field(60.0, ge=0)
    concurrency: int = Field(2, ge=1, le=64)


class HttpSettings(_Section):
    """The HTTP API, WebSocket and pages (served by ``callcenter run`` and ``callcenter demo``)."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # How long a browser session lasts without use (hours), and whether its cookie is sent over
    # HTTPS only (turn on behind a TLS proxy).
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    secure_cookies: bool = False
    # The center file the API reads (queues, dispositions, CRM hooks); default: the one the
    # controller runs.
    center: Path | None = None
    # The reverse proxies in front of the API (addresses or networks, "10.0.0.5",
    # "10.0.0.0/8"): only from them is X-Forwarded-For believed, for the client's address in
    # the sign-in limits and the audit log. Empty: the peer's address is the client's.
    trusted_proxies: list[str] = []
    # Wrong passwords allowed per login and client address within the window, before sign-ins
    # of that login from that address wait the window out (6x per address, 10x per login).
    sign_in_max_failures: int = Field(5, ge=1, le=1000)
    sign_in_window_minutes: float = Field(15.0, gt=0, le=24 * 60)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: object) -> object:
        if isinstance(value, str):  # from the environment: "10.0.0.5,10.0.1.0/24"
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for item in value:
                try:
                    ipaddress.ip_network(str(item).strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        f"{item!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/8)"
                    ) from None
        return value


class LoggingSettings(_Section):
    level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    json_format: bool = False


class MailSettings(_Section):
    """The SMTP server the scheduled report e-mails go through (``[mail]``)."""

    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    # Empty: send without signing in (a relay that trusts this host).
    username: str = ""
    password: str = ""
    # Upgrade the connection with STARTTLS before signing in (port 587 servers want it).
    starttls: bool = False
    sender: str = "callcenter@localhost"
    timeout: float = Field(30.0, gt=0)


class Settings(_Section):
    esl: EslSettings = EslSettings()
    sim: SimSettings = SimSettings()
    xmlcurl: XmlCurlSettings = XmlCurlSettings()
    http: HttpSettings = HttpSettings()
    logging: LoggingSettings = LoggingSettings()
    worker: WorkerSettings = WorkerSettings()
    mail: MailSettings = MailSettings()
    redis_url: str = "redis://127.0.0.1:6379/0"
    database_url: str = "sqlite:///var/callcenter.db"


# Variables with our prefix that are not settings: the settings file, and where the tests and
# benchmarks find the FreeSWITCH ground truth.
_NOT_SETTINGS = frozenset({"CONFIG", "SHARED_DIR"})


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX) or key[len(ENV_PREFIX) :] in _NOT_SETTINGS:
            continue
        path = key[len(ENV_PREFIX) :].lower().split("__")
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SettingsError(f"environment variable {key} conflicts with another one")
            node = child
        node[path[-1]] = value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raise ``SettingsError`` with an actionable message."""
    environ = os.environ if env is None else env
    source = "defaults"
    data: dict[str, Any] = {}
    if path is None and environ.get(ENV_PREFIX + "CONFIG"):
        path = environ[ENV_PREFIX + "CONFIG"]
    if path is not None:
        file = Path(path)
        source = str(file)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise SettingsError(f"{file}: configuration file not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{file}: not valid TOML: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{file}: cannot read: {exc}") from exc
    overrides = _env_overrides(environ)
    if overrides:
        source += " + environment"
    try:
        return Settings.model_validate(_merge(data, overrides))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            env_name = ENV_PREFIX + "__".join(str(p) for p in err["loc"]).upper()
            problems.append(f"  {field} (or {env_name}): {err['msg']}")
        raise SettingsError(f"{source}: invalid settings:\n" + "\n".join(problems)) from exc
