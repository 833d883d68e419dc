"""The one TOML file ops edit, validated before anything runs.

Read with pydantic-settings: the TOML file gives the values, ``SYNCD_*``
environment variables override them (``SYNCD_SYNCD__INTERVAL=5m``), and secrets
never live in the file: sources name the environment variables that hold them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "Config",
    "ConfigError",
    "Duration",
    "load_config",
    "find_config",
    "KpiSourceConfig",
    "OkrSourceConfig",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
#: The longest duration any setting takes (a year and a day): more is a typo.
_MAX_DURATION = timedelta(days=366)


class ConfigError(Exception):
    """The configuration is wrong; each line names the key and what to do."""

    def __init__(self, problems: list[str], path: Path | None = None):
        self.problems = problems
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(where + "; ".join(problems))

    def __str__(self) -> str:
        head = f"configuration {self.path} is wrong:" if self.path else "configuration is wrong:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


def _show_duration(d: timedelta) -> str:
    seconds = d.total_seconds()
    for unit in ("w", "d", "h", "m", "s"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{round(seconds * 1000)}ms"


def parse_duration(value: Any, limit: timedelta = _MAX_DURATION) -> timedelta:
    """``30s``, ``15m``, ``1h``, ``1d``, ``2w``, ``500ms``: a number with its unit.

    A bare number is refused: ``interval = 15`` could mean seconds or minutes.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"a bare number has no unit; write it with one, such as {value}s or {value}m")
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            try:
                seconds = float(m.group(1)) * _UNITS[m.group(2)]
                if seconds > limit.total_seconds():
                    raise OverflowError
                return timedelta(seconds=seconds)
            except (OverflowError, ValueError):
                raise ValueError(f"too long; at most {_show_duration(limit)}") from None
    raise ValueError("expected a duration such as 30s, 15m, 1h or 1d")


def _duration(low: timedelta, high: timedelta = _MAX_DURATION, example: str = "15m") -> Any:
    """A duration setting between ``low`` and ``high`` (inclusive)."""

    def check(value: Any) -> timedelta:
        d = parse_duration(value, max(high, _MAX_DURATION))
        if not low <= d <= high:
            raise ValueError(
                f"out of range; give {_show_duration(low) if low else '0s'} to {_show_duration(high)}, "
                f"such as {example!r}"
            )
        return d

    return Annotated[timedelta, BeforeValidator(check)]


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
if TYPE_CHECKING:
    from .source import Role

if TYPE_CHECKING:  # to a type checker each is a timedelta; pydantic sees the bounds
    Interval: TypeAlias = timedelta
    Timeout: TypeAlias = timedelta
    Span: TypeAlias = timedelta
    LeaseTtl: TypeAlias = timedelta
    Retention: TypeAlias = timedelta
else:
    #: How often a source is synced; the fakes in tests pass fractions of a second.
    Interval = _duration(timedelta(milliseconds=100), example="15m")
    Timeout = _duration(timedelta(milliseconds=100), timedelta(minutes=10), example="30s")
    Span = _duration(timedelta(0), example="1d")
    LeaseTtl = _duration(timedelta(seconds=1), timedelta(hours=1), example="60s")
    #: How long the state store keeps history: a day to ten years.
    Retention = _duration(timedelta(days=1), timedelta(days=3660), example="400d")


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:9321`` or ``[::1]:9321`` as (host, port); ValueError says what is expected.

    The one check of ``[syncd] listen``: the config refuses what the service could not bind.
    """
    host, sep, port = str(text).strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("expected host:port such as 127.0.0.1:9321 (port 0 to 65535)")
    return host, int(port)


#: What a variable name looks like; anything else in a ``*_env`` key is refused.
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_TOKEN_PREFIXES = ("ntn_", "secret_", "atta", "xox", "ya29.", "ghp_", "github_pat_", "sk-", "1/", "2/")


def _env_name(value: Any) -> Any:
    """A ``*_env`` key names a variable; a token pasted there is refused without echoing it."""
    if not isinstance(value, str):
        return value
    v = value.strip()
    looks_secret = (
        not _ENV_NAME.match(v)
        or v.lower().startswith(_TOKEN_PREFIXES)
        or (len(v) >= 20 and any(c.isdigit() for c in v) and any(c.islower() for c in v))
    )
    if looks_secret:
        raise ValueError(
            "this is not the name of an environment variable (it looks like a secret itself, so it is not "
            'shown); put the secret in a variable and name the variable here, such as "NOTION_TOKEN"'
        )
    return v


EnvName = Annotated[str, BeforeValidator(_env_name)]


def _text_encoding(value: Any) -> Any:
    import codecs

    if isinstance(value, str):
        try:
            info = codecs.lookup(value)
        except LookupError:
            raise ValueError("unknown text encoding; use one such as utf-8, utf-8-sig, cp1252 or latin-1") from None
        if not getattr(info, "_is_text_encoding", True):
            raise ValueError("not a text encoding; use one such as utf-8, cp1252 or latin-1")
    return value


def _notion_id(value: Any) -> Any:
    if isinstance(value, str):
        from .parsing import parse_database_id

        parse_database_id(value)  # its ValueError says what is expected
    return value


NotionId = Annotated[str, BeforeValidator(_notion_id)]


class _Strict(BaseModel):
    # Built on first validation, not at import: a model a run never validates alone (each source
    # and section is validated inside Config's schema) is never built on its own.
    model_config = ConfigDict(extra="forbid", defer_build=True)


# --- sources -------------------------------------------------------------------


class _Source(_Strict):
    name: str
    #: How often `syncd run` syncs this source; default ``[syncd].interval``.
    interval: Interval | None = None


class _TableSource(_Source):
    """Sources laid out as a table with a header row."""

    #: model field = header, overriding the default headers.
    columns: dict[str, str] = Field(default_factory=dict)
    header_row: int = Field(default=1, ge=1)


class CsvSource(_TableSource):
    type: Literal["csv"]
    path: Path
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: Annotated[str, BeforeValidator(_text_encoding)] = "utf-8"


class XlsxSource(_TableSource):
    type: Literal["xlsx"]
    path: Path
    worksheet: str | None = None


class SheetsSource(_TableSource):
    type: Literal["sheets"]
    #: A spreadsheet key or its URL.
    spreadsheet: str
    worksheet: str | None = None
    credentials_env: EnvName = "GOOGLE_APPLICATION_CREDENTIALS"
    base_url: str | None = None
    #: Also colour the background of Status cells green/amber/red.
    colour: bool = False


class NotionSource(_Source):
    type: Literal["notion"]
    #: KPI sources: the KPI database.
    database: NotionId | None = None
    #: OKR sources: the objectives and key results databases (may be one
    #: database with a ``Type`` select telling them apart).
    objectives: NotionId | None = None
    key_results: NotionId | None = None
    token_env: EnvName = "NOTION_TOKEN"
    base_url: str | None = None
    notion_version: str = "2025-09-03"
    #: model field = property name or id.
    properties: dict[str, str] = Field(default_factory=dict)
    comment_on_change: bool = False
    #: How often a warm run re-reads everything instead of only edited pages.
    full_refresh: Span = timedelta(days=1)
    #: Sync within seconds of an edit: Notion's webhook events (§9) at
    #: ``<public_url>/hooks/notion/<name>``.
    push: bool = False
    #: The variable that may hold the subscription's verification token (else
    #: the token file syncd keeps beside the state file is used).
    secret_env: EnvName = "NOTION_WEBHOOK_TOKEN"


class TrelloSource(_Source):
    type: Literal["trello"]
    #: A board id, short link or URL.
    board: str
    key_env: EnvName = "TRELLO_API_KEY"
    token_env: EnvName = "TRELLO_TOKEN"
    base_url: str | None = None
    cycle: str | None = None
    progress_scale: Literal[1, 100] = 1
    create_missing: bool = True
    #: model field = custom field or label name, overriding the defaults.
    fields: dict[str, str] = Field(default_factory=dict)
    #: Sync within seconds of an edit: a board webhook (§9) at
    #: ``<public_url>/hooks/trello/<name>``, registered by ``syncd run``.
    push: bool = False
    #: The variable holding the Trello app secret that signs webhook deliveries.
    secret_env: EnvName = "TRELLO_APP_SECRET"


class AsanaSource(_Source):
    type: Literal["asana"]
    #: The workspace gid (required); ``team`` and ``time_period`` (gids) narrow the goals read.
    workspace: str = Field(min_length=1)
    team: str | None = None
    time_period: str | None = None
    #: For goals with neither a time period nor start and due dates.
    cycle: str | None = None
    #: Post a status update on a goal when syncd changes its colour.
    status_updates: bool = False
    token_env: EnvName = "ASANA_TOKEN"
    base_url: str | None = None
    #: How often the goal relationships (cached between passes) are read again.
    full_refresh: Span = timedelta(days=1)


KpiSourceConfig = Annotated[CsvSource | XlsxSource | SheetsSource | NotionSource, Field(discriminator="type")]
OkrSourceConfig = Annotated[
    CsvSource | XlsxSource | SheetsSource | NotionSource | TrelloSource | AsanaSource,
    Field(discriminator="type"),
]


# --- sections ------------------------------------------------------------------


class SyncdSection(_Strict):
    #: A SQLite file (relative to the config), or a PostgreSQL DSN
    #: ``postgresql://user@host:5432/db`` shared by replicas (no password in it).
    state: str = "syncd.db"
    #: How long a replica's lease on a credential group lasts unrenewed (PostgreSQL state only).
    lease_ttl: LeaseTtl = timedelta(seconds=60)
    timezone: str = "UTC"
    interval: Interval = timedelta(minutes=15)
    fiscal_year_start: int = Field(default=1, ge=1, le=12)
    #: ``host:port`` for /healthz and /metrics; off when absent.
    listen: str | None = None
    #: Per HTTP request.
    timeout: Timeout = timedelta(seconds=30)
    #: Attempts per request before a transient failure fails the source.
    retries: int = Field(default=6, ge=1, le=20)
    #: Longest single wait between attempts; a longer Retry-After defers the rest
    #: of the source's work to its next pass.
    max_retry_wait: Span = timedelta(seconds=60)
    #: A source failing this many passes in a row makes /healthz answer 503.
    unhealthy_after: int = Field(default=3, ge=1)
    #: History (values, passes) older than this is pruned from the state store at the end of a pass.
    retention: Retention = timedelta(days=400)
    #: The https address at which the operator's proxy forwards to ``listen``;
    #: webhooks are registered under ``<public_url>/hooks/...``.
    public_url: str | None = None
    #: A pushed source's pass starts this long after the first event (a burst shares it).
    push_delay: Span = timedelta(seconds=2)
    #: A pushed source's poll interval (unless it sets ``interval``): catches lost events.
    reconcile: Interval = timedelta(hours=6)

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from urllib.parse import urlsplit

        parts = urlsplit(v.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"expected the https address of your proxy, such as https://syncd.example.com, got {v!r}")
        return v.strip().rstrip("/")

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str | None) -> str | None:
        if v is not None:
            parse_listen(v)
        return v

    @field_validator("state")
    @classmethod
    def _no_password(cls, v: str) -> str:
        if v.startswith(("postgresql://", "postgres://")):  # pgstate is imported only for a DSN
            from .pgstate import dsn_problem

            problem = dsn_problem(v)
            if problem:
                raise ValueError(problem)
        elif "://" in v:
            raise ValueError("expected a file path or a postgresql://user@host:5432/database DSN")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}; use an IANA name such as UTC or Europe/Berlin")
        return v


class OkrSection(_Strict):
    default_type: Literal["aspirational", "committed"] = "aspirational"
    aspirational_success: float = Field(default=0.7, gt=0, le=1)
    on_track_tolerance: float = Field(default=0.10, ge=0, le=1)
    at_risk_tolerance: float = Field(default=0.25, ge=0, le=1)
    max_objectives: int = Field(default=5, ge=1)
    max_key_results: int = Field(default=5, ge=1)
    #: ``no_check_in``: a key result whose value has not changed for this many days.
    check_in_days: int = Field(default=14, ge=1)
    #: ``unaligned_objective``: objectives of the other OKR sources must name a parent.
    company_sources: list[str] = []


class KpiSection(_Strict):
    stale_grace: Span = timedelta(days=1)
    #: ``red_kpi_without_okr``: red for this many days with no key result following it.
    red_days: int = Field(default=14, ge=1)


class LimitsSection(_Strict):
    """Pacing per service and credential; the defaults are the documented limits."""

    notion_per_second: float = Field(default=3.0, gt=0)
    trello_per_10s: float = Field(default=100, gt=0)
    trello_key_per_10s: float = Field(default=300, gt=0)
    sheets_per_minute: float = Field(default=60, gt=0)
    #: Asana's free plan; paid plans allow 1,500.
    asana_per_minute: float = Field(default=150, gt=0)


class AlertConfig(_Strict):
    name: str = "alerts"
    #: The webhook URL, or (better, since it is a secret) the variable holding it.
    url: str | None = None
    url_env: EnvName | None = None
    #: Send a message when a KPI or key result changes colour.
    on_change: bool = True
    #: Weekly digest: day of the week and hour (in [syncd].timezone); off when absent.
    digest_day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] | None = None
    digest_hour: int = Field(default=9, ge=0, le=23)


class Config(_Strict):
    """The whole file. ``SYNCD_<SECTION>__<KEY>`` variables override it (see :func:`load_config`)."""

    syncd: SyncdSection = Field(default_factory=SyncdSection)
    okr: OkrSection = Field(default_factory=OkrSection)
    kpi: KpiSection = Field(default_factory=KpiSection)
    limits: LimitsSection = Field(default_factory=LimitsSection)
    kpis: list[KpiSourceConfig] = []
    okrs: list[OkrSourceConfig] = []
    alerts: list[AlertConfig] = []

    #: The folder the config file is in; relative paths are taken from it.
    base_dir: Path = Field(default=Path("."), exclude=True)
    path: Path | None = Field(default=None, exclude=True)

    # -- helpers -----------------------------------------------------------------

    def resolve(self, p: Path) -> Path:
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def state_dsn(self) -> str | None:
        """The PostgreSQL DSN of the state store, or None for a SQLite file."""
        return self.syncd.state if self.syncd.state.startswith(("postgresql://", "postgres://")) else None

    @property
    def state_path(self) -> Path:
        """The SQLite state file; with PostgreSQL, ``syncd.db`` beside the config, where files
        kept beside the state go."""
        return self.resolve(Path("syncd.db") if self.state_dsn else Path(self.syncd.state))

    def sources(self) -> list[tuple[Role, Any]]:
        """Every source as (role, config), role being ``kpis`` or ``okrs``."""
        kpis: list[tuple[Role, Any]] = [("kpis", s) for s in self.kpis]
        return kpis + [("okrs", s) for s in self.okrs]

    def interval_of(self, source: Any) -> timedelta:
        """The source's ``interval``; else ``reconcile`` for a pushed source, else ``[syncd].interval``."""
        if source.interval:
            return source.interval
        return self.syncd.reconcile if self.pushed(source) else self.syncd.interval

    def pushed(self, source: Any) -> bool:
        """The source is synced on its webhook events (§9)."""
        return bool(getattr(source, "push", False) and self.syncd.public_url and self.syncd.listen)


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config``, else ``$SYNCD_CONFIG``, else ``./syncd.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SYNCD_CONFIG")
    return Path(env) if env else Path("syncd.toml")


def load_config(path: str | os.PathLike[str]) -> Config:
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError([f"no configuration file at {path}; pass --config FILE or set SYNCD_CONFIG"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"not valid TOML: {e}"], path) from None
    except UnicodeDecodeError as e:
        raise ConfigError([f"not UTF-8 text (byte {e.start}); save the file as UTF-8"], path) from None
    except OSError as e:
        raise ConfigError([f"cannot read it: {e.strerror}"], path) from None
    for reserved in ("base_dir", "path"):
        if reserved in data:
            raise ConfigError([f"{reserved}: unknown key"], path)
    try:
        data = _with_env_overrides(data, os.environ)
        config = Config(**data)
    except ValidationError as e:
        raise ConfigError(_describe(e, data), path) from None
    config.base_dir = path.resolve().parent
    config.path = path
    problems = _cross_checks(config)
    if problems:
        raise ConfigError(problems, path)
    return config


def _with_env_overrides(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The file's values with ``SYNCD_SYNCD__INTERVAL=5m`` and the like laid over them.

    pydantic-settings reads the variables (nested keys, JSON for lists), and is
    imported only when one is set: it pulls in asyncio, a third of a cron run's start.
    """
    keys = {name.upper(): name for name in Config.model_fields if name not in ("base_dir", "path")}
    if not any(k.upper().startswith("SYNCD_") and k.upper()[6:].split("__")[0] in keys for k in env):
        return data
    from pydantic import create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    fields: dict[str, Any] = {name: (dict[str, Any] | list[Any] | None, None) for name in keys.values()}
    settings = create_model("SyncdEnvironment", __base__=BaseSettings, **fields)
    settings.model_config = SettingsConfigDict(
        env_prefix="SYNCD_", env_nested_delimiter="__", case_sensitive=False, extra="ignore"
    )
    overrides = {k: v for k, v in settings().model_dump().items() if v not in (None, {})}
    return _deep_merge(data, overrides)


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def _cross_checks(config: Config) -> list[str]:
    problems: list[str] = []
    seen: dict[str, str] = {}
    for role, src in config.sources():
        index = (config.kpis if role == "kpis" else config.okrs).index(src)
        key = f"{role}[{index}]"
        if src.name in seen:
            problems.append(f"{key}.name: {src.name!r} is already the name of {seen[src.name]}; names must be unique")
        seen[src.name] = key
        problems.extend(_field_names(key, role, src))
        if isinstance(src, NotionSource):
            if role == "kpis" and not src.database:
                problems.append(f"{key}.database: missing; give the id or URL of the KPI database")
            if role == "okrs" and not (src.objectives or src.key_results):
                problems.append(
                    f"{key}.objectives: missing; give the id or URL of the objectives database "
                    "(and key_results, unless one database holds both)"
                )
        if getattr(src, "push", False) and not (config.syncd.listen and config.syncd.public_url):
            missing = " and ".join(k for k in ("listen", "public_url") if not getattr(config.syncd, k))
            problems.append(
                f"{key}.push: needs [syncd] {missing}: syncd listens on listen, and the services send their "
                "events to public_url, the https address your reverse proxy forwards to it"
            )
    okr_names = [s.name for s in config.okrs]
    for i, name in enumerate(config.okr.company_sources):
        if name not in okr_names:
            known = ", ".join(repr(n) for n in okr_names) or "none"
            problems.append(
                f"okr.company_sources[{i}]: {name!r} is not the name of an [[okrs]] source; the OKR sources are {known}"
            )
    if config.okr.at_risk_tolerance < config.okr.on_track_tolerance:
        problems.append("okr.at_risk_tolerance: must be at least okr.on_track_tolerance")
    for i, alert in enumerate(config.alerts):
        if not (alert.url or alert.url_env):
            problems.append(f"alerts[{i}].url_env: missing; name the variable that holds the webhook URL")
    return problems


def _field_names(key: str, role: str, src: Any) -> list[str]:
    """``columns``, ``properties`` and ``fields`` map model fields: each key must be one."""
    if isinstance(src, _TableSource):
        from .fields import KPI_COLUMNS, OKR_COLUMNS

        table, valid = "columns", KPI_COLUMNS if role == "kpis" else OKR_COLUMNS
        given = src.columns
    elif isinstance(src, NotionSource):
        from .fields import NOTION_KPI_NAMES, NOTION_OKR_NAMES

        table, valid = "properties", NOTION_KPI_NAMES if role == "kpis" else NOTION_OKR_NAMES
        given = src.properties
    elif isinstance(src, TrelloSource):
        from .fields import TRELLO_NAMES

        table, valid, given = "fields", TRELLO_NAMES, src.fields
    else:
        return []
    return [
        f"{key}.{table}.{name}: not a field syncd maps; the fields are {', '.join(valid)}"
        for name in given
        if name not in valid
    ]


_TAGS = {"csv", "xlsx", "sheets", "notion", "trello", "asana"}


def _describe(error: ValidationError, data: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for e in error.errors():
        parts: list[str] = []
        loc = list(e["loc"])
        for i, part in enumerate(loc):
            if isinstance(part, int):
                parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
            elif part in _TAGS and i > 0 and isinstance(loc[i - 1], int):
                continue  # the union's tag, not a key the user wrote
            else:
                parts.append(str(part))
        key = ".".join(parts) or "(top level)"
        kind = e["type"]
        if kind == "extra_forbidden":
            msg = "unknown key; check its spelling against the commented example that `syncd init` writes"
        elif kind == "missing":
            msg = "missing; this key is required"
        elif kind == "union_tag_invalid":
            msg = f"unknown source type; expected one of {e['ctx']['expected_tags']}"
        elif kind == "union_tag_not_found":
            msg = 'missing type; say type = "csv", "xlsx", "sheets", "notion", "trello" or "asana"'
        else:
            msg = e["msg"].removeprefix("Value error, ")
            secret = (bool(parts) and parts[-1].endswith("_env")) or key == "syncd.state"  # never echo a token or DSN
            if "input" in e and not isinstance(e["input"], (dict, list)) and not secret:
                msg += f" (got {e['input']!r})"
        out.append(f"{key}: {msg}")
    return out
