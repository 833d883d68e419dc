"""Leases: which replica syncs which credential group (PostgreSQL state only)."""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["Lease"]


@dataclass
class Lease:
    """One replica's hold on one credential group, as that replica knows it."""

    group: str
    #: The fencing number: it grows with every change of holder, never repeats.
    token: int
    #: This replica's unique id (``host:pid:random``) and how it is shown (``host:pid``).
    holder: str
    replica: str
    #: ``time.monotonic()`` after which this replica no longer counts the lease as its own.
    deadline: float

    def valid(self) -> bool:
        return time.monotonic() < self.deadline
