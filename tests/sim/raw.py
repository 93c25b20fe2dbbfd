"""A bare ESL peer for the simulator's tests: raw bytes out, parsed frames in."""

from __future__ import annotations

import asyncio

from callcenter.esl.events import Event
from callcenter.esl.frames import Frame
from callcenter.esl.parser import FrameParser

__all__ = ["RawPeer", "connect_authed"]


class RawPeer:
    """Sends bytes, collects frames (events stay queued while a reply is awaited), notices
    the close."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = FrameParser()
        self.frames: list[Frame] = []
        self.skipped: list[Event] = []
        self.closed = False

    @classmethod
    async def open(cls, port: int) -> RawPeer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def next_frame(self, timeout: float = 10) -> Frame:
        while not self.frames:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                self.closed = True
                raise EOFError("connection closed")
            self.frames.extend(self.parser.feed(data))
        return self.frames.pop(0)

    def send(self, text: str) -> None:
        self.writer.write(text.encode() + (b"" if text.endswith("\n\n") else b"\n\n"))

    async def reply(self, command: str) -> Frame:
        """Send a command and return its reply; frames before it stay queued, in order."""
        self.send(command)
        return await self.next_reply()

    async def next_reply(self) -> Frame:
        stash: list[Frame] = []
        while True:
            frame = await self.next_frame()
            if frame.content_type in ("command/reply", "api/response"):
                self.frames[:0] = stash
                return frame
            stash.append(frame)

    async def api(self, command: str) -> str:
        return (await self.reply(f"api {command}")).text

    async def event(self, name: str, timeout: float = 10, **headers: str) -> Event:
        """The first event called ``name`` whose headers match (``Unique_ID`` for
        ``Unique-ID``). Events read past while looking are kept for later calls, so the order
        of the calls need not be the order of the events; other frames are dropped."""

        def match(event: Event) -> bool:
            return event.name == name and all(
                event.get(key.replace("_", "-")) == value for key, value in headers.items()
            )

        for index, event in enumerate(self.skipped):
            if match(event):
                return self.skipped.pop(index)
        while True:
            frame = await self.next_frame(timeout)
            if not frame.is_event:
                continue
            event = Event.from_frame(frame)
            if match(event):
                return event
            self.skipped.append(event)

    async def until_closed(self, timeout: float = 10) -> list[Frame]:
        seen: list[Frame] = []
        try:
            while True:
                seen.append(await self.next_frame(timeout))
        except EOFError:
            return seen

    def close(self) -> None:
        self.writer.close()


async def connect_authed(port: int, password: str = "ClueCon") -> RawPeer:
    peer = await RawPeer.open(port)
    assert (await peer.next_frame()).content_type == "auth/request"
    assert (await peer.reply(f"auth {password}")).reply_text == "+OK accepted"
    return peer
