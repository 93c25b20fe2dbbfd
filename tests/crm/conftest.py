"""Fixtures of the CRM tests: a real HTTP server playing the CRM."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.crm.receiver import Receiver, running_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as crm:
        yield crm
