"""The ways post-processing a recording fails, which the tasks treat differently.

``RecordingError``: the file itself cannot be used (corrupt, truncated, not a WAV). Trying
again will not help, so the recording is marked failed with ``reason`` at once.
``RecordingNotReady`` is the kind that may heal: the file is not there yet, or its header is not
written yet, because the switch is still closing it. The tasks retry those a few times.
``StorageError``: keeping the encoded file failed (disk, network, S3), worth a retry too.
"""

from __future__ import annotations

__all__ = ["RecordingError", "RecordingNotReady", "StorageError", "StorageNotFound"]


class RecordingError(Exception):
    """The recording cannot be processed; ``reason`` says why and what to look at."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RecordingNotReady(RecordingError):
    """The file is missing or unfinished: the switch may not have closed it yet."""


class StorageError(Exception):
    """Storing, reading or deleting an encoded recording failed, or a key or URI is refused."""


class StorageNotFound(StorageError):
    """The stored object asked for is not there (``open`` only: ``delete`` returns 0)."""
