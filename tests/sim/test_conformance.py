"""The simulated switch replays the transcripts of a real FreeSWITCH step for step."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from callcenter.sim import SimSwitch


async def test_every_conformance_step_matches(freeswitch_dir: Path, tmp_path: Path) -> None:
    # Real time (time_scale 1): the captures' playback lengths decide when events arrive.
    switch = SimSwitch(password="ClueCon", recordings_dir=tmp_path)
    await switch.start("127.0.0.1", 0)
    # `status` drops the plural "s" of a count of 1, as FreeSWITCH does; the capture was taken
    # at 42 s of uptime, so let the uptime pass 1 s before comparing.
    await asyncio.sleep(2.1)
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(freeswitch_dir / "conformance.py"),
            "--port",
            str(switch.port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 300)
    finally:
        await switch.stop()
    text = out.decode()
    summary = re.search(r"conformance: (\d+)/(\d+) steps match", text)
    assert summary is not None, text
    assert summary.group(1) == summary.group(2), text
    assert int(summary.group(2)) >= 87, text
    assert proc.returncode == 0, text
