"""The runtime: what every HTTP call of a process shares, built once by the composition root.

The CLI builds one per command and the daemon one per configuration (a SIGHUP
reload replaces it, keeping the stop token, the listeners and, while the
limits are unchanged, the pacers). The engine hands it to every source in its
:class:`syncd.source.SourceContext`; nothing of it lives in a module global.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ._pacing import Pacer, fingerprint
from ._retry import Acquirer, RetryListener, RetryPolicy, call
from ._stop import StopToken

__all__ = ["Runtime"]

T = TypeVar("T")


class Runtime:
    """Pacers per service and credential, the retry policy, the stop token, the retry listeners."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        stop: StopToken | None = None,
        listeners: Iterable[RetryListener] = (),
        limits: Any = None,
    ):
        self.policy = policy or RetryPolicy()
        self.stop = stop or StopToken()
        self.listeners: list[RetryListener] = list(listeners)
        #: The ``[limits]`` the pacers were made for (a reload with other limits starts afresh).
        self.limits = limits
        self._pacers: dict[tuple[str, str], Pacer] = {}
        self._kept: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(
        cls, config: Any, *, stop: StopToken | None = None, listeners: Iterable[RetryListener] = ()
    ) -> Runtime:
        return cls(RetryPolicy.from_config(config), stop=stop, listeners=listeners, limits=config.limits)

    def reloaded(self, config: Any) -> Runtime:
        """The runtime for a reloaded config: same stop token and listeners; the pacers
        carry over unless ``[limits]`` changed (else the first limit seen would stay)."""
        new = Runtime.from_config(config, stop=self.stop, listeners=self.listeners)
        if config.limits == self.limits:
            with self._lock:
                new._pacers = dict(self._pacers)
        return new

    def with_stop(self, stop: StopToken) -> Runtime:
        """This runtime (the same pacers, policy and listeners) under another stop token: a
        replica's pass runs under one that also stops it once its lease is not provably held."""
        view = copy.copy(self)
        view.stop = stop
        return view

    def pacer(self, service: str, credential: str, limit: float, period: float = 1.0) -> Pacer:
        """The pacer shared by every source using ``credential`` on ``service``.

        ``credential`` is hashed before it is kept; the first caller's limit wins
        for this runtime's life. Its waits end when the stop token is set.
        """
        key = (service, fingerprint(credential))
        with self._lock:
            pacer = self._pacers.get(key)
            if pacer is None:
                pacer = self._pacers[key] = Pacer(limit, period, sleep=self.stop.wait)
            return pacer

    def keep(self, key: tuple[str, ...], make: Callable[[], T]) -> T:
        """An object a connector shares for this runtime's life (the Sheets
        credentials of one service account, so its sources fetch one token).
        Key it by :func:`fingerprint` of any secret, never by the secret."""
        with self._lock:
            if key not in self._kept:
                self._kept[key] = make()
            return self._kept[key]

    def call(
        self,
        fn: Callable[[], T],
        *,
        pacer: Acquirer | None = None,
        service: str = "",
        what: str = "",
        policy: RetryPolicy | None = None,
    ) -> T:
        """:func:`syncd.http.call` with this runtime's policy (unless given), stop token and listeners."""
        return call(
            fn,
            policy=policy or self.policy,
            pacer=pacer,
            service=service,
            what=what,
            stop=self.stop,
            listeners=self.listeners,
        )
