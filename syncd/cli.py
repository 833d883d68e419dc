"""``syncd sync | check | run | status | report``: the interface scripts rely on.

Exit status: 0 all went well; 1 a source could not be read or some writes
failed; 2 the configuration or the command line is wrong.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from .config import Config, ConfigError, find_config, load_config
from .state import StateError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2, as argparse does, with a hint
        self.print_usage(sys.stderr)
        self.exit(2, f"syncd: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="syncd", description="Keep OKR and KPI status current in the tools a team uses.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    config_help = "the TOML config (default: $SYNCD_CONFIG, then ./syncd.toml)"

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

    r = sub.add_parser("run", help="run as a long-lived service")
    r.add_argument("--config", help=config_help)
    r.add_argument(
        "--log-format", choices=("text", "json"), default=None, help="default: text on a terminal, else json"
    )

    st = sub.add_parser("status", help="show the last pass of each source (from the state store)")
    st.add_argument("--config", help=config_help)
    st.add_argument("--format", choices=("text", "json"), default="text")
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
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a wrong command line (2): return it, as for every other outcome
        return e.code if isinstance(e.code, int) else 2
    if args.command != "run":
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="syncd: %(levelname)s: %(message)s")
    try:
        config = load_config(find_config(args.config))
        if args.command != "run":  # the service sets up its own logging, redacted the same way
            _redact_logs(config)
        if args.command == "sync":
            return _sync(config, args)
        if args.command == "check":
            return _check(config)
        if args.command == "report":
            from .report import write_report

            return write_report(
                config, now=parse_now(args.now, config.syncd.timezone), output=args.output, only=args.source
            )
        if args.command == "run":
            from .daemon import run

            return run(config, log_format=args.log_format)
        if args.command == "status":
            from .daemon import status

            return status(config, fmt=args.format)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 2
    except StateError as e:  # the state store cannot be opened or reached at start
        print(f"syncd: {e}", file=sys.stderr)
        return 2
    return 2


def _redact_logs(config: Config) -> None:
    """Secrets never reach stderr, whatever a library logs."""
    import os

    from .logs import RedactFilter, Redactor, secret_values

    redact = RedactFilter(Redactor(secret_values(config, os.environ)))
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    for noisy in ("httpx", "httpcore", "urllib3"):  # request URLs at INFO/DEBUG
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _sync(config: Config, args: argparse.Namespace) -> int:
    from .engine import sync
    from .lock import LockError, hold

    now = parse_now(args.now, config.syncd.timezone)
    try:
        with hold(config.state_path, shared=args.dry_run or bool(config.state_dsn)):
            report = sync(config, now=now, dry_run=args.dry_run, only=args.source)
    except LockError as e:
        print(f"syncd: {e}", file=sys.stderr)
        return 1
    import io
    import os

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


def _check(config: Config) -> int:
    import os

    from syncd.connectors import open_source

    from .source import SourceContext, SourceError
    from .state import open_store

    problems = 0
    state = open_store(config, readonly=True)
    ctx = SourceContext(config=config, cache=state, env=os.environ, dry_run=True)
    from .logs import Redactor, secret_values

    redact = Redactor(secret_values(config, os.environ))
    print(f"config {config.path}: valid")
    for role, cfg in config.sources():
        try:
            source = open_source(role, cfg, ctx)  # type: ignore[arg-type]
            found = source.check()
            source.close()
        except SourceError as e:
            found = [str(e)]
        mark = "ok" if not found else "FAILED"
        print(f"{role}.{cfg.name} ({cfg.type}): {mark}")
        for p in found:
            print(f"  - {redact(p)}")
        problems += len(found)
    state.close()
    return 1 if problems else 0


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
