"""The stop token: set once (SIGTERM), it ends every wait and lets no new call start."""

from __future__ import annotations

import threading

__all__ = ["StopToken", "STOPPING"]

#: What a source reports when syncd stops in the middle of its pass.
STOPPING = "syncd is stopping; the rest of this source's work moves to its next pass"


class StopToken:
    """A :class:`threading.Event` with the two operations the HTTP layer needs.

    One token per service life (the daemon's), shared by every :class:`Runtime`
    it builds, so a reload never loses a stop that is under way.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the token is set meanwhile."""
        self._event.wait(seconds)

    def reason(self) -> str:
        """Why no call may start (what a pass stopped by it reports)."""
        return STOPPING
