"""Notion's side of push (spec §9): who syncd is (its bot user), and whether the subscription is verified.

Notion's webhook subscriptions are made by a person in the integration's
settings (there is no API for them): syncd answers the verification request,
keeps the token (see :mod:`syncd.push`), and learns its own bot user
(``GET /v1/users/me``) so that its own writes start no pass.
"""

from __future__ import annotations

from typing import Any

from syncd.push import notion_token_path, read_notion_token
from syncd.secrets import SecretError, read_secret
from syncd.source import Role, SourceContext

from .source import NotionSource

__all__ = ["setup", "teardown", "check"]


def setup(role: Role, config: Any, ctx: SourceContext, callback: str) -> dict[str, Any]:
    src = NotionSource(role, config, ctx)
    try:
        me = src._call(lambda: src.transport.client.users.me(), "reading the integration's bot user")
    finally:
        src.close()
    own = [str(me["id"])] if isinstance(me, dict) and me.get("id") else []
    return {"own": own}


def teardown(name: str, record: dict[str, Any], ctx: SourceContext) -> None:
    """Nothing to remove by API: the operator deletes the subscription in Notion."""


def check(role: Role, config: Any, ctx: SourceContext, callback: str) -> tuple[list[str], list[str]]:
    notes = [f"Notion sends its events to {callback}: the subscription is made in the integration's settings "
             "(Webhooks tab), with the page.properties_updated, page.created and page.deleted events"]  # fmt: skip
    try:
        env_token = read_secret(ctx.env, config.secret_env)
    except SecretError as e:
        return [str(e)], notes
    path = notion_token_path(ctx.config, config.name)
    if env_token:
        notes.append(f"events are checked with the token in {config.secret_env}")
    elif read_notion_token(path):
        notes.append(f"verified: the verification token is in {path} (events are checked with it)")
    else:
        notes.append(
            "not verified yet: with `syncd run` up, create the subscription in Notion; syncd keeps the token Notion "
            f"sends in {path}; paste it into Notion's Verify form (`syncd status` says so too)"
        )
    notes.append(
        f"from outside, POSTs to {callback} must reach [syncd].listen through your proxy; "
        "syncd cannot test its own public address from inside"
    )
    return [], notes
