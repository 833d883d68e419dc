"""Trello's side of push (spec §9): one board webhook per pushed source, and who syncd is.

The webhook is found by its callback URL among the token's webhooks
(``GET /1/tokens/{token}/webhooks``) and created only when missing
(``POST /1/webhooks``), so a start, a reload or a restart never makes a second
one. Trello sends a ``HEAD`` to the callback URL before it creates the webhook:
the daemon's server answers it, so creation happens with the server up.
syncd's own member (``GET /1/members/me``) is what its own writes are authored
by; events from it start no pass.

Every call goes through :class:`~syncd.connectors.trello.source.TrelloSource`'s
transport: paced and retried like the board's reads, credentials in the header.
"""

from __future__ import annotations

from typing import Any

from syncd.config import TrelloSource as TrelloConfig
from syncd.secrets import SecretError, read_secret
from syncd.source import Role, SourceContext, SourceError

from .source import TrelloSource
from .transport import TrelloError

__all__ = ["setup", "teardown", "check"]

_DESCRIPTION = "syncd: status within seconds of an edit"


def _call(src: TrelloSource, method: str, path: str, what: str, **kw: Any) -> Any:
    try:
        return src._request(method, path, what=what, **kw)
    except TrelloError as e:
        raise src._refused(e, what) from None


def _mine(src: TrelloSource, callback: str) -> list[dict[str, Any]]:
    token = src._credentials()[1]
    hooks = _call(src, "GET", f"/tokens/{token}/webhooks", "listing the token's webhooks")
    if not isinstance(hooks, list):
        raise SourceError("Trello answered the list of webhooks with something that is not a list; check base_url")
    return [h for h in hooks if isinstance(h, dict) and h.get("callbackURL") == callback]


def _board_id(src: TrelloSource) -> str:
    raw = _call(
        src, "GET", f"/boards/{src._board_id()}", f'reading board "{src.config.board}"', params={"fields": "id"}
    )
    if not isinstance(raw, dict) or not raw.get("id"):
        raise SourceError(f'Trello answered board "{src.config.board}" without its id; check base_url')
    return str(raw["id"])


def setup(role: Role, config: Any, ctx: SourceContext, callback: str) -> dict[str, Any]:
    """Make sure exactly one webhook sends this board's events to ``callback``; return the record."""
    src = TrelloSource(role, config, ctx)
    try:
        me = _call(src, "GET", "/members/me", "reading the token's member", params={"fields": "id,username"})
        own = [str(me["id"])] if isinstance(me, dict) and me.get("id") else []
        board = _board_id(src)
        found = _mine(src, callback)
        keep = next((h for h in found if h.get("idModel") == board), None)
        for stale in found:  # the same address watching another board (the config's board changed)
            if stale is not keep:
                _delete(src, str(stale.get("id")))
        created = False
        if keep is None:
            what = f'creating the webhook for board "{config.board}" at {callback}'
            try:
                keep = src._request("POST", "/webhooks", what=what,
                                    body={"callbackURL": callback, "idModel": board, "description": _DESCRIPTION})  # fmt: skip
            except TrelloError as e:
                if e.status == 400 and "already exists" in e.text:  # made meanwhile (another replica)
                    keep = next((h for h in _mine(src, callback) if h.get("idModel") == board), None)
                    if keep is not None:
                        return _record(keep, False, own, config)
                if e.status == 400 and "200" in e.text:
                    raise SourceError(
                        f"Trello could not reach {callback} ({e.text}): make sure your reverse proxy forwards "
                        "/hooks/ to [syncd].listen and that public_url is the address Trello can reach"
                    ) from None
                raise src._refused(e, what) from None
            created = True
        elif keep.get("active") is False:  # Trello turns a webhook off after failing deliveries for 30 days
            keep = _call(src, "PUT", f"/webhooks/{keep['id']}", "turning the webhook back on", body={"active": True})
        if not isinstance(keep, dict) or not keep.get("id"):
            raise SourceError("Trello answered the webhook without its id; check base_url")
        return _record(keep, created, own, config)
    finally:
        src.close()


def _record(hook: dict[str, Any], created: bool, own: list[str], config: Any) -> dict[str, Any]:
    """What the registrar keeps (no secret: the variables' names, not their values)."""
    return {"webhook": str(hook["id"]), "created": created, "own": own, "board": config.board,
            "key_env": config.key_env, "token_env": config.token_env, "base_url": config.base_url}  # fmt: skip


def _delete(src: TrelloSource, webhook: str) -> None:
    try:
        src._request("DELETE", f"/webhooks/{webhook}", what="removing the webhook")
    except TrelloError as e:
        if e.status not in (400, 404):  # gone already (a person deleted it, or the token's board)
            raise src._refused(e, "removing the webhook") from None


def teardown(name: str, record: dict[str, Any], ctx: SourceContext) -> None:
    """Remove the webhook a source no longer pushed was given (with the credentials it used)."""
    config = TrelloConfig(type="trello", name=name, board=record.get("board") or "unknown",
                          key_env=record.get("key_env") or "TRELLO_API_KEY",
                          token_env=record.get("token_env") or "TRELLO_TOKEN", base_url=record.get("base_url"))  # fmt: skip
    src = TrelloSource("okrs", config, ctx)
    try:
        if record.get("webhook"):
            _delete(src, str(record["webhook"]))
        for hook in _mine(src, str(record.get("callback"))):  # one a crash left behind
            _delete(src, str(hook.get("id")))
    finally:
        src.close()


def check(role: Role, config: Any, ctx: SourceContext, callback: str) -> tuple[list[str], list[str]]:
    """``syncd check``: (problems, notes) about this source's push."""
    problems: list[str] = []
    notes: list[str] = []
    try:
        secret = read_secret(ctx.env, config.secret_env)
    except SecretError as e:
        secret, problems = None, [str(e)]
    if not secret and not problems:
        problems.append(
            f"{config.secret_env} is not set: put your Trello app secret in it (https://trello.com/power-ups/admin, "
            "your Power-Up's API key page), or every event is refused with 401"
        )
    elif secret:
        notes.append(f"the app secret that signs events is in {config.secret_env}")
    src = TrelloSource(role, config, ctx)
    try:
        board = _board_id(src)
        found = _mine(src, callback)
    except SourceError as e:
        problems.append(f"cannot look for its webhook: {e}")
        return problems, notes
    finally:
        src.close()
    mine = [h for h in found if h.get("idModel") == board]
    if not mine:
        notes.append(f"no webhook sends this board's events to {callback} yet: `syncd run` registers it when it starts")
    else:
        hook = mine[0]
        state = "active" if hook.get("active", True) else "inactive (Trello turned it off after failed deliveries)"
        notes.append(f"webhook {hook.get('id')} registered for {callback}, {state}")
        if hook.get("consecutiveFailures"):
            problems.append(
                f"Trello failed to deliver {hook['consecutiveFailures']} event(s) in a row to {callback}: "
                "check that the proxy forwards /hooks/ to [syncd].listen"
            )
    notes.append(
        f"from outside, `curl -I {callback}` must answer 200 through your proxy (Trello checks it with a HEAD); "
        "syncd cannot test its own public address from inside"
    )
    return problems, notes
