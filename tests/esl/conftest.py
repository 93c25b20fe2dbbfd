"""Fixtures for the ESL tests: the recorded captures from a real FreeSWITCH."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import shared_dir


def capture_reads(name: str) -> list[bytes]:
    """The bytes of every read a client made from the real switch, in order."""
    path = shared_dir() / "captures" / f"{name}.jsonl"
    reads = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["dir"] == "recv":
            reads.append(record["data"].encode("latin-1"))
    return reads


def capture_names() -> list[str]:
    folder = shared_dir() / "captures"
    return sorted(p.stem for p in folder.glob("*.jsonl"))


def all_capture_names() -> list[str]:
    return [Path(n).stem for n in capture_names()]
