"""The API as ``callcenter run`` serves it: its context from the settings and the center file."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from callcenter.api.context import ApiContext, PresignedStorage
from callcenter.api.server import ApiServer
from callcenter.center.tenant import Center
from callcenter.db.engine import make_engine
from callcenter.settings import Settings, WorkerSettings

__all__ = ["local_storage", "s3_storage", "start_api"]


def local_storage(spec: str) -> Path | None:
    """The folder of the workers' storage setting; None for an s3:// bucket."""
    return None if spec.startswith("s3://") else Path(spec).expanduser().resolve()


def s3_storage(settings: WorkerSettings) -> PresignedStorage | None:
    """The workers' S3 storage (to presign recordings' URLs); None for a folder."""
    if not settings.storage.startswith("s3://"):
        return None
    from workers.recordings.s3 import S3Storage
    from workers.recordings.storage import configured_storage

    storage = configured_storage(settings)
    assert isinstance(storage, S3Storage)
    return storage


async def start_api(
    settings: Settings,
    redis: Redis,
    tenants: list[str],
    center: Center | None,
    host: str | None = None,
    port: int | None = None,
    *,
    center_path: Path | None = None,
    conf_dirs: dict[str, Path] | None = None,
) -> ApiServer:
    ctx = ApiContext(
        redis=redis,
        engine=make_engine(settings.database_url),
        tenants=tenants,
        center=center,
        http=settings.http,
        center_path=center_path if center is not None else None,
        conf_dirs=conf_dirs or {},
        recordings_root=local_storage(settings.worker.storage),
        recording_storage=s3_storage(settings.worker),
    )
    server = ApiServer(
        ctx, host or settings.http.host, settings.http.port if port is None else port
    )
    await server.start()
    return server
