"""``syncd sync | check | run | status | report | demo | init | health``: the interface scripts rely on.

Exit status: 0 all went well; 1 a source could not be read or some writes
failed; 2 the configuration or the command line is wrong.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from . import __version__
from .config import Config, ConfigError, find_config, load_config
from .state import StateError

if TYPE_CHECKING:
    from .source import Role

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # exit 2, as argparse does, with a hint
        self.print_usage(sys.stderr)
        self.exit(2, f"syncd: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="syncd", description="Keep OKR and KPI status current in the tools a team uses.")
    p.add_argument("--version", action="version", version=f"syncd {__version__}")
    logs = _Parser(add_help=False)  # every command takes --log-format
    logs.add_argument(
        "--log-format", choices=("text", "json"), default=None, help="log lines on stderr as text or JSON lines"
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    config_help = "the TOML config (default: $SYNCD_CONFIG, then ./syncd.toml)"
    real_add = sub.add_parser
    sub.add_parser = lambda *a, **kw: real_add(*a, parents=[logs], **kw)  # type: ignore[method-assign]

    s = sub.add_parser("sync", help="run one pass and exit")
    s.add_argument("--config", help=config_help)
    s.add_argument("--dry-run", action="store_true", help="read and evaluate, write nothing; show the writes")
    s.add_argument("--now", help="the clock for evaluation, ISO 8601 (default: the current time)")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.add_argument("--source", action="append", metavar="NAME", help="sync only this source (repeatable)")

    rp = sub.add_parser("report", help="read and evaluate like sync --dry-run; write the page as one HTML file")
    rp.add_argument("--config", help=config_help)
    rp.add_argument(
        "--output", default="syncd-report.html", metavar="FILE", help="default syncd-report.html; - for stdout"
    )
    rp.add_argument("--now", help="the clock for evaluation, ISO 8601 (default: the current time)")
    rp.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable)")

    c = sub.add_parser("check", help="validate the config and reach every source")
    c.add_argument("--config", help=config_help)

    r = sub.add_parser("run", help="run as a long-lived service (logs: text on a terminal, else JSON lines)")
    r.add_argument("--config", help=config_help)

    st = sub.add_parser("status", help="show the last pass of each source (from the state store)")
    st.add_argument("--config", help=config_help)
    st.add_argument("--format", choices=("text", "json"), default="text")

    d = sub.add_parser("demo", help="copy the bundled demo into DIR, sync it and show the result")
    d.add_argument("dir", nargs="?", default="syncd-demo", help="where (default: ./syncd-demo)")
    d.add_argument("--now", help="the clock for the demo's dates and evaluation, ISO 8601 (default: now)")
    d.add_argument("--format", choices=("text", "json"), default="text")

    i = sub.add_parser("init", help="write a commented syncd.toml (and the example tables it names) into DIR")
    i.add_argument("dir", nargs="?", default=".", help="where (default: the current folder)")
    i.add_argument("--now", help="the day the example tables are dated to, ISO 8601 (default: today)")

    h = sub.add_parser("health", help="ask the running service (at [syncd].listen) whether it is healthy")
    h.add_argument("--config", help=config_help)
    h.add_argument("--probe", choices=("healthz", "livez", "readyz"), default="healthz")
    h.add_argument("--timeout", type=float, default=4.0, help="seconds (default: 4)")
    return p


def parse_now(text: str | None, tz: str) -> datetime:
    """``--now``: ISO 8601; a time without offset is in the configured timezone."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ConfigError([f"--now: {text!r} is not an ISO 8601 time such as 2026-11-15T09:00:00Z"]) from None
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(tz))


def main(argv: list[str] | None = None) -> int:
    # pydantic looks for plugins in every installed distribution's entry points when it builds the
    # config's schema: a tenth of a cron run, for plugins syncd does not use. Set the variable
    # yourself (to "" for all) to have them.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a wrong command line (2): return it, as for every other outcome
        return e.code if isinstance(e.code, int) else 2
    handler = _command_logging(args.log_format) if args.command != "run" else None
    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "init":
            return _init(args)
        config = load_config(find_config(args.config))
        if args.command != "run":  # the service sets up its own logging, redacted the same way
            _redact_logs(config)
        if args.command == "sync":
            return _sync(config, args)
        if args.command == "check":
            return _check(config)
        if args.command == "report":
            from syncd.connectors import REGISTRY

            from .report import write_report

            return write_report(
                config,
                now=parse_now(args.now, config.syncd.timezone),
                output=args.output,
                only=args.source,
                registry=REGISTRY,
            )
        if args.command == "run":
            from .daemon import run
            from .preflight import require_state

            require_state(config)
            return run(config, log_format=args.log_format)
        if args.command == "status":
            from .daemon import status
            from .preflight import require_state

            require_state(config, write=False)
            return status(config, fmt=args.format)
        if args.command == "health":
            return _health(config, args)
    except ConfigError as e:
        if args.log_format == "json":  # one JSON line, as the service's other lines
            logging.getLogger("syncd").error(str(e), extra={"event": "config_error"})
        else:
            print(str(e), file=sys.stderr)
        return 2
    except StateError as e:  # the state store cannot be opened or reached at start
        print(f"syncd: {e}", file=sys.stderr)
        return 2
    finally:
        if handler is not None:
            logging.getLogger().removeHandler(handler)
    return 2


class _Stderr(logging.StreamHandler):
    """Whatever ``sys.stderr`` is when a record is written (a handler must not outlive a swapped stream)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def _command_logging(log_format: str | None) -> logging.Handler:
    """One-shot commands: warnings and errors on stderr, as text (default) or JSON lines."""
    from .logs import JsonFormatter

    handler = _Stderr()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter("syncd: %(levelname)s: %(message)s")
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(old)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    return handler


def _redact_logs(config: Config) -> None:
    """Secrets never reach stderr, whatever a library logs."""
    from .logs import RedactFilter, Redactor, secret_values

    redact = RedactFilter(Redactor(secret_values(config, os.environ)))
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    for noisy in ("httpx", "httpcore", "urllib3"):  # request URLs at INFO/DEBUG
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _sync(config: Config, args: argparse.Namespace) -> int:
    from contextlib import ExitStack, closing

    from syncd.connectors import REGISTRY

    from .engine import sync
    from .lock import LockError, hold
    from .preflight import open_state, require_state, wrap_os_error

    now = parse_now(args.now, config.syncd.timezone)
    require_state(config, write=not args.dry_run)
    with ExitStack() as stack:
        try:
            stack.enter_context(hold(config.state_path, shared=args.dry_run or bool(config.state_dsn)))
        except LockError as e:
            print(f"syncd: {e}", file=sys.stderr)
            return 1
        except OSError as e:  # the lock file beside the state file: a configuration problem too
            raise wrap_os_error(config, e) from None
        state = stack.enter_context(closing(open_state(config, readonly=args.dry_run)))
        if config.state_dsn and not args.dry_run:  # replicas may be syncing: take the leases first
            refused = _take_leases(config, state, args.source, stack)
            if refused:
                print(f"syncd: {refused}", file=sys.stderr)
                return 1
        report = sync(config, now=now, registry=REGISTRY, dry_run=args.dry_run, only=args.source, state=state)
    import io

    from .logs import Redactor, redact_data, secret_values

    redact = Redactor(secret_values(config, os.environ))  # every path out: stdout too
    if args.format == "json":
        json.dump(redact_data(redact, report.to_json()), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        text = io.StringIO()
        _print_text(report, text)
        sys.stdout.write(redact(text.getvalue()))
    return report.exit_code


def _take_leases(config: Config, state: Any, only: list[str] | None, stack: Any) -> str | None:
    """One pass on a shared PostgreSQL store holds the leases of the groups it syncs, as a replica
    would, and gives them back after; None when taken, else why not (a replica holds one)."""
    from .engine import select_sources
    from .leases import Leases, credential_groups, lease_table

    chosen, feeders = select_sources(config, only)
    names = {cfg.name for _, cfg in [*chosen, *feeders]}
    groups = {g: n for g, n in credential_groups(config, os.environ).items() if set(n) & names}
    leases = Leases(state, config.syncd.lease_ttl.total_seconds(), groups)
    leases.step()
    stack.callback(leases.release)
    missing = sorted(set(groups) - set(leases.held()))
    if not missing:
        return None
    held = {row["group"]: row["replica"] for row in lease_table(state) if row["live"]}
    busy = ", ".join(f"{', '.join(groups[g]) or g} (replica {held.get(g, '?')})" for g in missing)
    return f"a running replica syncs {busy}; stop it, or run syncd sync --dry-run (it writes nothing)"


def _check(config: Config) -> int:
    from syncd.connectors import REGISTRY

    from .preflight import listen_problem, lock_holder, open_state, require_state
    from .source import SourceContext, SourceError

    problems = 0
    require_state(config)  # the folder is writable (exit 2 when not), without making the file
    state = open_state(config, readonly=True)
    ctx = SourceContext(config=config, cache=state, env=os.environ, dry_run=True)
    from .logs import Redactor, secret_values

    redact = Redactor(secret_values(config, os.environ))
    print(f"config {config.path}: valid")
    if config.state_dsn:
        print("state (PostgreSQL): reachable")
    else:
        print(f"state {config.state_path}: writable")
    holder = lock_holder(config)
    if holder:
        problems += 1
        print(
            f"state lock: FAILED\n  - held by pid {holder} (a running syncd); stop it, or give this one its own [syncd].state"
        )
    listen = listen_problem(config)
    if config.syncd.listen:
        print(f"listen {config.syncd.listen}: {'FAILED' if listen else 'ok'}")
        if listen:
            problems += 1
            print(f"  - {listen}")
    for role, cfg in config.sources():
        try:
            source = REGISTRY.open(role, cfg, ctx)
            found = source.check()
            source.close()
        except SourceError as e:
            found = [str(e)]
        push_notes = _check_push(config, role, cfg, ctx, found)
        mark = "ok" if not found else "FAILED"
        print(f"{role}.{cfg.name} ({cfg.type}): {mark}")
        for p in found:
            print(f"  - {redact(p)}")
        for note in push_notes:
            print(f"  push: {redact(note)}")
        problems += len(found)
    state.close()
    return 1 if problems else 0


def _today(text: str | None) -> datetime:
    return parse_now(text, "UTC")


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .starter import copy_example

    folder = Path(args.dir)
    try:
        copied = list(copy_example(folder, _today(args.now).date()))
    except OSError as e:
        raise ConfigError([f"{args.dir}: cannot write there: {e.strerror or e}; choose another folder"]) from None
    for c in copied:
        print(f"{'wrote' if c.written else 'kept '} {c.path}")
    config = folder / "syncd.toml"
    print(f"\nNext: edit {config} (each key is explained in it), then `syncd check --config {config}`.")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .starter import copy_example

    now = _today(args.now)
    folder = Path(args.dir)
    try:
        copied = list(copy_example(folder, now.date()))
    except OSError as e:
        raise ConfigError(
            [f"{args.dir}: cannot write the demo there: {e.strerror or e}; choose another folder"]
        ) from None
    config = load_config(folder / "syncd.toml")
    _redact_logs(config)
    if args.format == "text":
        made = sum(c.written for c in copied)
        print(f"demo in {folder}: {made} file(s) copied, {len(copied) - made} kept; syncing it\n")
    args.dry_run, args.source = False, None
    args.now = now.isoformat()
    code = _sync(config, args)
    if args.format == "text":
        print(
            f"\nThe Status and Progress columns of {folder / 'kpis.csv'} and {folder / 'okrs.csv'} are filled in. "
            f"Edit a value and run `syncd sync --config {config.path}` (run this again: it writes nothing)."
        )
    return code


def _health(config: Config, args: argparse.Namespace) -> int:
    """Exit 0 when the service answers 200 on the probe; for container health checks."""
    import urllib.error
    import urllib.request

    from .observe import parse_listen

    if not config.syncd.listen:
        raise ConfigError(
            ["[syncd].listen: not set; `syncd health` asks the running service over HTTP there"], config.path
        )
    host, port = parse_listen(config.syncd.listen)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    url = f"http://[{host}]:{port}/{args.probe}" if ":" in host else f"http://{host}:{port}/{args.probe}"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    except (OSError, ValueError) as e:
        print(f"syncd health: {url}: no answer ({getattr(e, 'reason', e)}); is `syncd run` running?", file=sys.stderr)
        return 1
    try:
        reasons = json.loads(body).get("reasons") or []
    except (ValueError, AttributeError):
        reasons = []
    print(f"syncd health: {url}: {status} {'ok' if status == 200 else 'unhealthy'}")
    for reason in reasons:
        print(f"  - {reason}")
    return 0 if status == 200 else 1


def _check_push(config: Config, role: Role, cfg: Any, ctx: Any, found: list[str]) -> list[str]:
    """Spec §9: is push set up for this source? Problems join ``found``; the rest are notes."""
    if not config.pushed(cfg):
        if getattr(cfg, "push", None) is False and config.syncd.public_url:
            return ["off (push = false): polled every " + str(config.interval_of(cfg))]
        return []
    from syncd.connectors import push_check

    from .push import callback_url
    from .source import SourceError

    try:
        problems, notes = push_check(role, cfg, ctx, callback_url(config, cfg))
    except SourceError as e:
        problems, notes = [f"push: {e}"], []
    found.extend(f"push: {p}" for p in problems)
    return notes


# --- text output -------------------------------------------------------------------


def _num(v: float | None, digits: int = 3) -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}".rstrip("0").rstrip(".") if not float(v).is_integer() else f"{v:,.0f}"


def _shown(value: Any) -> str:
    return _num(value) if isinstance(value, float) else str(value)


def _print_text(report: Any, out: TextIO) -> None:
    ev = report.evaluation
    head = f"syncd sync at {report.now.isoformat(timespec='minutes')}"
    if report.dry_run:
        head += " (dry run: nothing written)"
    print(head, file=out)
    if ev.kpis:
        print("\nKPIs", file=out)
        width = max(len(k.name) for k in ev.kpis)
        for k in ev.kpis:
            value = _num(k.value) + (f" {k.unit}" if k.unit and k.value is not None else "")
            flag = " stale" if k.stale else ""
            reason = f"  ({k.reason})" if k.reason and k.status in ("no_data", "invalid") else ""
            print(f"  {k.status:<8} {k.name:<{width}}  {value:>12}{flag}{reason}", file=out)
    if ev.objectives:
        print("\nObjectives", file=out)
        for o in ev.objectives:
            final = ", final" if o.final else ""
            score = "-" if o.score is None else f"{o.score:.2f}"
            print(f"  {score:>6}  {o.status:<11}  {o.title} [{o.cycle or 'no cycle'}{final}]", file=out)
            for kr in o.key_results:
                reason = f"  ({kr.reason})" if kr.reason and kr.status in ("no_data", "invalid") else ""
                progress = "-" if kr.progress is None else f"{kr.progress * 100:.1f}%"
                print(f"  {progress:>6}  {kr.status:<11}    {kr.title}{reason}", file=out)
    if ev.warnings:
        print(f"\nWarnings ({len(ev.warnings)})", file=out)
        for w in ev.warnings:
            print(f"  {w.code}: {w.message}", file=out)
    verb = "Would write" if report.dry_run else "Wrote"
    print(f"\n{verb} {len(report.writes)} value(s)", file=out)
    names = {k.id: k.name for k in ev.kpis}
    for o in ev.objectives:
        names[o.id] = o.title
        names.update((kr.id, kr.title) for kr in o.key_results)
    for p in report.writes:
        old = "(empty)" if p.old is None else _shown(p.old)
        print(f"  {p.source}: {names.get(p.item, p.item)}: {p.field} {old} -> {_shown(p.new)}", file=out)
    if report.errors:
        print(f"\nErrors ({len(report.errors)})", file=out)
        for e in report.errors:
            where = f" {e.item}" if e.item else ""
            print(f"  {e.source}{where}: {e.message}", file=out)
    for name, s in report.sources.items():
        for note in s.notes:
            print(f"note: {name}: {note}", file=out)
    if report.api_calls:
        calls = ", ".join(f"{k} {v}" for k, v in sorted(report.api_calls.items()))
        print(f"\nAPI calls: {calls}", file=out)
