"""Logging for the service: stderr, human-readable on a terminal, JSON lines otherwise.

Every record passes through :class:`RedactFilter` on its way out, so a token, a
webhook URL or a private key never reaches the log, whichever module logged it
(ours, httpx, a connector's exception text).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from .secrets import SecretError, read_secret

__all__ = [
    "Redactor",
    "RedactFilter",
    "JsonFormatter",
    "setup_logging",
    "secret_values",
    "redact_data",
    "REDACTED",
]

REDACTED = "***"

#: Secret shapes redacted wherever they appear, known to us or not.
_SHAPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), REDACTED),
    (re.compile(r'("private_key"\s*:\s*")[^"]*(")'), rf"\g<1>{REDACTED}\g<2>"),
    (re.compile(r"\b(?:secret_|ntn_)[A-Za-z0-9]{20,}"), REDACTED),  # Notion integration tokens
    (re.compile(r"\bATTA[A-Fa-f0-9]{40,}"), REDACTED),  # Trello tokens
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), REDACTED),  # Slack tokens
    (re.compile(r"\bya29\.[A-Za-z0-9._-]{20,}"), REDACTED),  # Google OAuth access tokens
    (re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+"), REDACTED),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\g<1>{REDACTED}"),
    (
        re.compile(r"(?i)([?&](?:key|token|access_token|api_key|apikey|sig|signature)=)[^&\s\"'<>]+"),
        rf"\g<1>{REDACTED}",
    ),
]

#: Variables that hold secrets even when the config names none.
_DEFAULT_SECRET_VARS = (
    "NOTION_TOKEN",
    "TRELLO_API_KEY",
    "TRELLO_TOKEN",
    "TRELLO_APP_SECRET",
    "NOTION_WEBHOOK_TOKEN",
    "PGPASSWORD",
)


class Redactor:
    """Replaces known secret values and secret-shaped text with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more secrets (a reload keeps the old ones: they may still be in flight)."""
        self._secrets |= {s for s in secrets if s and len(s) >= 6}
        if self._secrets:
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        for pattern, replacement in _SHAPES:
            text = pattern.sub(replacement, text)
        return text


def redact_data(redact: Redactor, data: Any) -> Any:
    """``data`` (JSON-like: dicts, lists, strings) with every string redacted: for output and storage."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {k: redact_data(redact, v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [redact_data(redact, v) for v in data]
    return data


def secret_values(config: Any, env: Mapping[str, str]) -> set[str]:
    """The values of every variable the config names as holding a secret.

    ``credentials_env`` usually holds a file's path, which is not a secret and
    helps when the file is missing; it is redacted only when it holds the JSON
    itself.
    """
    names = set(_DEFAULT_SECRET_VARS)
    out: set[str] = set()
    for _, src in config.sources():
        for attr in ("token_env", "key_env", "secret_env"):
            if getattr(src, attr, None):
                names.add(getattr(src, attr))
        creds = getattr(src, "credentials_env", None)
        if creds and env.get(creds, "").lstrip().startswith("{"):
            out.add(env[creds])
            try:
                out.add(json.loads(env[creds]).get("private_key", ""))
            except (ValueError, AttributeError):
                pass
    for alert in config.alerts:
        if alert.url_env:
            names.add(alert.url_env)
        if alert.url:
            out.add(alert.url)
    for name in names:
        try:
            out.add(read_secret(env, name) or "")
        except SecretError:
            pass
    return {s for s in out if s}


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


class RedactFilter(logging.Filter):
    """Renders each record's message and exception text, then redacts them."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.redactor(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)


def setup_logging(log_format: str | None, redactor: Redactor, *, stream: Any = None) -> logging.Handler:
    """Send every log record to stderr (text on a terminal, else JSON lines), redacted."""
    stream = stream or sys.stderr
    if log_format is None:
        log_format = "text" if getattr(stream, "isatty", lambda: False)() else "json"
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S"))
    handler.addFilter(RedactFilter(redactor))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # httpx logs every request URL at INFO, and Trello puts its key in the query.
    for noisy in ("httpx", "httpcore", "urllib3", "googleapiclient"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
