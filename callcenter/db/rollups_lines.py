"""Roll-ups of the lines report (``callcenter/reports/trunks.py``), in 15-minute UTC buckets.

``rollup_line_calls_15m``: per bucket of ``started_at``, per gateway and per node (``kind``), per
direction, the calls, answered calls, refused calls and billed seconds.

``rollup_line_concurrency_15m``: per bucket, per gateway and per node, how many milliseconds of
the bucket exactly ``level`` calls were up at once (a time-weighted histogram; level 0 is not
stored: it is the rest of the bucket). Summing histograms over buckets gives the exact
distribution over any longer interval, so the peak, a percentile and the share of time at a
channel limit known only when the report runs all come out of it without a per-minute
approximation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db.models import Base
from callcenter.db.types import UtcDateTime

__all__ = ["LineCalls", "LineConcurrency"]


class LineCalls(Base):
    __tablename__ = "rollup_line_calls_15m"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # gateway, node
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(16), primary_key=True)  # "" when unknown
    calls: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    billsec: Mapped[int] = mapped_column(Integer)


class LineConcurrency(Base):
    __tablename__ = "rollup_line_concurrency_15m"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    ms: Mapped[int] = mapped_column(BigInteger)  # milliseconds of the bucket at this level
