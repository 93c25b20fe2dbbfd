"""Putting rendered configuration on a switch node: diff, atomic write, reloadxml, roll back.

A node's generated files are listed in a manifest in its conf folder, so the next push removes
the files a configuration no longer produces (a deleted tenant's dialplan) and nothing else.
Each file is written to a temporary name and renamed over the old one, so FreeSWITCH never reads
half a file. FreeSWITCH answers ``reloadxml`` with ``+OK [Success]``, and with ``+OK [<error>]``
when the XML it read is broken (PROTOCOL.md, cap 04): anything but success puts the previous
files back, reloads them, and says so. Gateways changed or removed are killed and the profile
rescanned, since reloadxml alone leaves running gateways as they were.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

__all__ = ["MANIFEST", "PushResult", "diff_node", "push_node"]

MANIFEST = ".callcenter-files.json"
RELOAD_OK = "+OK [Success]"

Api = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class PushResult:
    node: str
    ok: bool
    written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    message: str = ""


def _safe_path(conf_dir: Path, name: str) -> Path:
    """A generated file's place under the conf folder; never outside it."""
    path = (conf_dir / name).resolve()
    if conf_dir.resolve() not in path.parents:
        raise ValueError(f"{name!r} is not a path inside {conf_dir}")
    return path


def _manifest(conf_dir: Path) -> list[str]:
    try:
        data = json.loads((conf_dir / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except ValueError as exc:
        raise ValueError(f"{conf_dir / MANIFEST}: not a list of files: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
        raise ValueError(f"{conf_dir / MANIFEST}: not a list of files")
    return data


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _gateways(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return []
    return [g.get("name", "") for g in root.iter("gateway") if g.get("name")]


async def _restart_gateways(
    api: Api, before: Mapping[str, str | None], files: Mapping[str, str], touched: list[str]
) -> None:
    """reloadxml does not touch running gateways: mod_sofia starts new ones on ``rescan`` and
    drops changed or removed ones on ``killgw`` (they come back, changed, on the rescan)."""
    profiles: set[str] = set()
    for name in touched:
        parts = Path(name).parts
        if len(parts) < 3 or parts[0] != "sip_profiles":
            continue
        profiles.add(parts[1])
        for gateway in _gateways(before.get(name)):
            await api(f"sofia profile {parts[1]} killgw {gateway}")
    for profile in sorted(profiles):
        await api(f"sofia profile {profile} rescan")


def diff_node(conf_dir: Path, files: Mapping[str, str]) -> str:
    """A unified diff from what the node has to what would be pushed (empty: nothing to do)."""
    names = sorted(set(files) | set(_manifest(conf_dir)))
    out: list[str] = []
    for name in names:
        before = _read(_safe_path(conf_dir, name)) or ""
        after = files.get(name, "")
        out.extend(
            difflib.unified_diff(
                before.splitlines(keepends=True),
                after.splitlines(keepends=True),
                fromfile=f"node/{name}",
                tofile=f"new/{name}",
            )
        )
    return "".join(out)


async def push_node(name: str, conf_dir: Path, api: Api, files: Mapping[str, str]) -> PushResult:
    """Write ``files`` (path relative to the conf folder -> text) and reload the node.

    On an error from the switch (or no answer) the previous files are restored and reloaded.
    """
    old_names = _manifest(conf_dir)
    stale = sorted(set(old_names) - set(files))
    paths = {n: _safe_path(conf_dir, n) for n in [*files, *stale]}
    before = {n: _read(p) for n, p in paths.items()}
    changed = sorted(n for n in files if before[n] != files[n])
    try:
        for n in changed:
            _write(paths[n], files[n])
        for n in stale:
            with contextlib.suppress(FileNotFoundError):
                paths[n].unlink()
        _write(conf_dir / MANIFEST, json.dumps(sorted(files), indent=1) + "\n")
        reply = (await api("reloadxml")).strip()
    except Exception as exc:  # the connection, or a file that could not be written
        reply = f"{type(exc).__name__}: {exc}"
    if reply == RELOAD_OK:
        await _restart_gateways(api, before, files, [*changed, *stale])
        return PushResult(name, True, tuple(changed), tuple(stale), reply)
    # Put everything back as it was, and have the switch read that again.
    for n, text in before.items():
        if text is None:
            with contextlib.suppress(FileNotFoundError):
                paths[n].unlink()
        else:
            _write(paths[n], text)
    _write(conf_dir / MANIFEST, json.dumps(old_names, indent=1) + "\n")
    with contextlib.suppress(Exception):
        await api("reloadxml")
    return PushResult(name, False, message=f"{reply}; the previous files were restored")
