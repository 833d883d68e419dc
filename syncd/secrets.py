"""Secrets come from the environment: the variable itself, or a file it names.

``NOTION_TOKEN=ntn_...``, or ``NOTION_TOKEN_FILE=/run/secrets/notion`` (the way
systemd credentials and container secrets hand them over). Never from the
config file, never into a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["SecretError", "read_secret"]


class SecretError(Exception):
    """The ``_FILE`` variable names a file that cannot be read."""


def read_secret(env: Mapping[str, str], name: str) -> str | None:
    """``env[name]``, else the contents of the file ``env[name + "_FILE"]``; None when neither is set."""
    value = (env.get(name) or "").strip()
    if value:
        return value
    path = (env.get(f"{name}_FILE") or "").strip()
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except OSError as e:
        raise SecretError(f"cannot read the file that {name}_FILE names ({path}): {e.strerror}") from None
