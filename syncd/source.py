"""The one small interface every source sits behind.

The engine reads items and writes patches through this and never learns which
service it talks to (the vdirsyncer way). A :class:`syncd.registry.Registry`,
given by the composition root, builds the right implementation from a source's
config table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from .model import ItemError, Patch, ReadResult
from .secrets import SecretError, read_secret

if TYPE_CHECKING:
    from .config import Config
    from .http import Runtime

Role = Literal["kpis", "okrs"]


class SourceError(Exception):
    """A whole source failed (bad token, not found, malformed answer...).

    The message names the source's thing (file, spreadsheet, database, board)
    and says what to do. It never contains a secret.
    """


class Deferred(SourceError):
    """The service asked for a wait longer than a pass may take.

    Work not done yet is carried over to the source's next pass; the pass is
    reported as partial, never as a success.
    """

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Performed:
    """What performing an :class:`Action` did: notes for the pass, and item errors."""

    notes: list[str] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)


@dataclass(frozen=True)
class Action:
    """A change a source needs before its writes, planned by ``prepare`` (actions as data).

    Schema set-up (a missing Trello label or custom field) or a once-only side
    effect left by an earlier pass (a Notion comment). A dry run shows
    ``would <description>``; a real run calls ``perform``: one failed action is
    reported in its :class:`Performed`, and only a failure of the whole source
    (its credentials refused) raises :class:`SourceError`.
    """

    source: str
    #: What it does, as the end of a sentence: ``create label "On track" (green) on board "OKRs"``.
    description: str
    perform: Callable[[], Performed] = field(compare=False, repr=False)


@runtime_checkable
class Source(Protocol):
    """What the engine reads from and writes to: every step it may call.

    A pass: ``read`` (no writes), ``prepare`` (actions the dry run shows and a
    real run performs), then, after evaluation and diff, ``write`` for this
    source's patches, ``flush`` once every source has written, and ``close``.
    ``check`` is ``syncd check``'s. :class:`BaseSource` gives the defaults.
    """

    name: str
    #: The key under which its calls are counted in ``api_calls``:
    #: ``"local"``, ``"sheets"``, ``"notion"`` or ``"trello"``.
    service: str
    role: Role
    #: HTTP calls made so far, by kind (``"read"``, ``"write"``...).
    calls: Counter[str]

    def read(self) -> ReadResult:
        """Read every item; raise :class:`SourceError` when the source cannot be read."""
        ...

    def prepare(self) -> list[Action]:
        """The actions needed before writing (after ``read``); planned, not performed."""
        ...

    def write(self, patches: Sequence[Patch]) -> list[ItemError]:
        """Apply patches (all for this source); return the ones that failed.

        Raise :class:`SourceError` only when nothing could be written. A source
        that batches across sources of one service may only queue here.
        """
        ...

    def flush(self) -> list[ItemError]:
        """Send what ``write`` queued (after every source's write).

        Failures as ``write``'s: failed items are returned (each naming its own
        ``source``), ``SourceError``/``Deferred`` raised when none of this
        source's queued writes went out. Nothing queued: nothing to do.
        """
        ...

    def check(self) -> list[str]:
        """Reach the source and return problems found, as sentences (empty: fine)."""
        ...

    def close(self) -> None:
        """Release connections; calling it twice is fine."""
        ...


class BaseSource:
    """The defaults of the optional steps: nothing to prepare, nothing queued."""

    def prepare(self) -> list[Action]:
        return []

    def flush(self) -> list[ItemError]:
        return []


def credential(env: Mapping[str, str], var: str, *, where: str, what: str) -> str:
    """The secret in ``var`` (or in the file ``{var}_FILE`` names), else a :class:`SourceError` that
    says where it was needed, which variable to set and what to put in it; never the secret."""
    try:
        value = read_secret(env, var)
    except SecretError as e:
        raise SourceError(f"{where}: {e}") from None
    if not value:
        raise SourceError(f"{where}: the environment variable {var} is not set; set it (or {var}_FILE) to {what}")
    return value


def perform(actions: Sequence[Action]) -> Performed:
    """Perform planned actions in order (a real run; tests driving a source directly)."""
    done = Performed()
    for action in actions:
        result = action.perform()
        done.notes.extend(result.notes)
        done.errors.extend(result.errors)
    return done


class Cache(Protocol):
    """The part of the state store a source may use to remember things
    between runs (a Notion data source id, the time of the last full read).
    Values are JSON. In a dry run ``put`` is a no-op."""

    def get(self, source: str, key: str, default: object = None) -> object: ...

    def put(self, source: str, key: str, value: object) -> None: ...


class SourceContext:
    """What a source gets besides its own config table.

    ``config``, ``cache``; ``env``: where secrets come from (``os.environ`` outside tests);
    ``dry_run``; ``now``: the pass's clock (``--now``), which sources use only for what they
    write (a dated comment), never to decide what to read.
    """

    def __init__(
        self,
        config: Config,
        cache: Cache,
        env: Mapping[str, str],
        dry_run: bool = False,
        now: datetime | None = None,
        runtime: Runtime | None = None,
    ):
        self.config, self.cache, self.env, self.dry_run, self.now = config, cache, env, dry_run, now
        self._runtime = runtime

    @property
    def runtime(self) -> Runtime:
        """Pacers, retry policy, stop token and retry listeners (:mod:`syncd.http`), built once by
        the composition root; when not given, one of its own, made when a source first asks (so a
        pass of local files never loads the HTTP layer)."""
        if self._runtime is None:
            from .http import Runtime

            self._runtime = Runtime.from_config(self.config)
        return self._runtime
