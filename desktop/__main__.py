"""Command line: the GUI by default, plus headless commands for scripts and servers."""

from __future__ import annotations

import argparse
import os
import sys

from desktop import APP_NAME, __version__
from desktop.paths import DATABASE_URL_VARIABLE, AppPaths

DATABASE_HELP = (
    "a shared database, e.g. postgresql://ledgerboard@db.example.com/ledgerboard, used "
    "instead of the data folder's file (or set LEDGERBOARD_DATABASE_URL); the password "
    "comes from the keyring or PGPASSFILE, never from the command line"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledgerboard",
        description=f"{APP_NAME}: your Stripe data on your own machine, as live KPIs.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument(
        "--data-dir",
        metavar="PATH",
        help="keep the database, logs and settings in PATH instead of the per-user folders",
    )
    parser.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="try everything without a Stripe account: a local Stripe simulator in the "
        "background, its own data folder, and the real flow against it",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start offscreen, open every main view once, exit 0 when all went well",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    sim = commands.add_parser(
        "simulator",
        help="serve a local Stripe simulator (API and OAuth) on 127.0.0.1",
        description="A local server that answers like Stripe, for demo mode and tests.",
    )
    sim.add_argument("--port", type=int, default=0, help="port to listen on (0: any free port)")
    sim.add_argument("--seed", type=int, default=1, help="dataset seed (default 1)")
    sim.add_argument("--size", type=int, default=1000, help="number of charges (default 1000)")
    sim.add_argument("--rate-limit", type=float, metavar="R", help="answer 429 beyond R requests/s")
    sim.add_argument(
        "--faults",
        type=float,
        default=0.0,
        metavar="F",
        help="fail this share of API requests (500s, drops, truncated bodies, slow answers)",
    )
    sim.add_argument("--clock", action="store_true", help="create, update and delete objects")
    sim.add_argument(
        "--clock-interval",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds between clock steps (default 5)",
    )
    sim.add_argument(
        "--restricted-key",
        action="append",
        default=[],
        metavar="KEY=TYPES",
        help="declare a restricted key and what it may read, e.g. rk_test_abc=charges,events",
    )
    sim.add_argument("--token-ttl", type=int, default=3600, help="OAuth access token lifetime (s)")
    sim.add_argument(
        "--indent",
        type=int,
        metavar="N",
        help="indent JSON bodies by N spaces, as api.stripe.com does with 2 (default: compact)",
    )
    sim.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="S",
        help="answer each API request after S seconds, as Stripe takes ~0.3 s for a page",
    )
    sim.add_argument(
        "--warm",
        metavar="T1,T2",
        type=lambda text: tuple(name.strip() for name in text.split(",") if name.strip()),
        default=(),
        help="encode every object of these types (or: all) before answering (benchmarks: the "
        "objects then cost the simulator almost nothing to serve, as Stripe's cost the app "
        "nothing)",
    )
    sync = commands.add_parser(
        "sync",
        help="import Stripe data into the data folder without a window, and keep it exact",
        description="Create the account and data sources if missing, sync them, and print a "
        "JSON summary (rows per data type, requests, seconds) as the last line.",
    )
    sync.add_argument(
        "--api-key",
        metavar="KEY",
        help="Stripe secret or restricted key (or set LEDGERBOARD_API_KEY)",
    )
    sync.add_argument(
        "--api-base", metavar="URL", help="a Stripe-compatible server, e.g. the simulator"
    )
    sync.add_argument("--types", metavar="T1,T2", help="data types to sync (default: all nine)")
    sync.add_argument(
        "--watch",
        action="store_true",
        help="keep each data source fresh on its own update frequency (a server's syncer): "
        "log to stderr, stop cleanly on SIGTERM, resume where it stopped after a kill",
    )
    sync.add_argument(
        "--every",
        type=float,
        metavar="S",
        help="with --watch: sync every data source every S seconds, overriding their own "
        "update frequencies (default: each data source when its update frequency, set in its "
        "settings, says it is due)",
    )
    sync.add_argument("--data-dir", metavar="PATH", help="data folder (default: the per-user one)")
    sync.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    export = commands.add_parser(
        "export",
        help="write a data source's registrations as CSV to standard output",
        description="Export one data source (its visible fields) as CSV, for scripts.",
    )
    export.add_argument(
        "--data-source", required=True, metavar="TITLE", help="the data source's title"
    )
    export.add_argument("--format", default="csv", choices=["csv", "xlsx"], help="csv or xlsx")
    export.add_argument("--output", metavar="FILE", help="write to FILE (needed for xlsx)")
    export.add_argument(
        "--filter",
        default="",
        metavar="EXPR",
        help="the rows to export, in the formulas' filter language, e.g. "
        '\'livemode = true and (amount > 1000 or status in ("failed", "pending"))\'',
    )
    export.add_argument(
        "--data-dir", metavar="PATH", help="data folder (default: the per-user one)"
    )
    export.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    store = commands.add_parser(
        "store",
        help="work on the store itself: copy it to a team's PostgreSQL",
        description="Work on the store itself.",
    )
    store_commands = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    store_copy = store_commands.add_parser(
        "copy",
        help="copy this store (data sources, registrations, dashboards, formulas; no secrets) "
        "into an empty database, and check the counts on both sides",
    )
    store_copy.add_argument(
        "--to", required=True, metavar="URL", help="the target, e.g. postgresql://user@host/db"
    )
    store_copy.add_argument(
        "--data-dir", metavar="PATH", help="data folder (default: the per-user one)"
    )
    store_copy.add_argument("--database", metavar="URL", help="copy from this database instead")
    kpi = commands.add_parser(
        "kpi",
        help="print a formula's value for a period as one line of JSON",
        description="Evaluate a formula over the data folder's registrations and print "
        "value, currency (or values per currency), start and end as one line of JSON.",
    )
    kpi.add_argument("formula", help="e.g. 'Sum(Charges, amount, livemode = true)'")
    kpi.add_argument(
        "--period",
        default="this_month",
        help="this_month (default), today, previous_year, last_30_days, all_time, "
        "2026-01-01..2026-03-31, ...",
    )
    kpi.add_argument("--tz", metavar="ZONE", help="time zone (default: the one in Settings)")
    kpi.add_argument("--data-dir", metavar="PATH", help="data folder (default: the per-user one)")
    kpi.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    report = commands.add_parser(
        "report",
        help="render a dashboard for a period to PDF, PNG, CSV or XLSX, without a window",
        description="Render a saved dashboard (or the starter template, unsaved) for a period "
        "offscreen, write it to a file, and optionally e-mail it through the SMTP server in "
        "Settings.",
    )
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("--dashboard", metavar="TITLE", help="a saved dashboard's title")
    which.add_argument(
        "--template",
        choices=["stripe-overview"],
        help="the starter dashboard over the data sources present, not saved",
    )
    report.add_argument(
        "--period",
        help="the dashboard's own by default; this_month, last_month, previous_year, "
        "last_30_days, 2026-01-01..2026-03-31, ...",
    )
    report.add_argument("--format", default="pdf", choices=["pdf", "png", "csv", "xlsx"])
    report.add_argument("--output", required=True, metavar="FILE", help="the file to write")
    report.add_argument(
        "--email",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="also send the report to ADDRESS (repeat for more)",
    )
    report.add_argument(
        "--data-dir", metavar="PATH", help="data folder (default: the per-user one)"
    )
    report.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    alerts = commands.add_parser(
        "alerts",
        help="evaluate alerts without a window (for cron and monitoring systems)",
        description="`alerts check` evaluates every alert once, prints those that fire and "
        "those still holding, e-mails the firings that ask for it, and exits 1 when one fired.",
    )
    alerts.add_argument("action", choices=["check"], help="check: evaluate every alert once")
    alerts.add_argument(
        "--data-dir", metavar="PATH", help="data folder (default: the per-user one)"
    )
    alerts.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    return parser


def run_simulator(args: argparse.Namespace) -> int:
    from desktop.simulator.server import Simulator, SimulatorConfig

    restricted = {}
    for declaration in args.restricted_key:
        key, _, types = declaration.partition("=")
        restricted[key] = frozenset(t.strip() for t in types.split(",") if t.strip())
    if not 0 <= args.faults < 1:
        print("--faults must be between 0 and 1", file=sys.stderr)
        return 2
    if args.latency < 0:
        print("--latency must not be negative", file=sys.stderr)
        return 2
    config = SimulatorConfig(
        seed=args.seed,
        size=args.size,
        rate_limit=args.rate_limit,
        faults=args.faults,
        restricted_keys=restricted,
        token_ttl=args.token_ttl,
        port=args.port,
        clock_interval=args.clock_interval if args.clock else None,
        indent=args.indent,
        latency=args.latency,
        warm=args.warm,
    )
    try:
        simulator = Simulator(config)
    except ValueError as exc:  # a type --warm does not know
        print(f"--warm: {exc}", file=sys.stderr)
        return 2
    try:
        url = simulator.start()
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 2
    print(f"listening on {url}", flush=True)
    try:
        import threading

        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "database"):
        args.database = args.database or os.environ.get(DATABASE_URL_VARIABLE) or None
    if args.command == "simulator":
        return run_simulator(args)
    if args.command == "export":
        from desktop.headless import run_export

        return run_export(args)
    if args.command == "kpi":
        from desktop.headless import run_kpi

        return run_kpi(args)
    if args.command == "report":
        from desktop.headless import run_report

        return run_report(args)
    if args.command == "alerts":
        from desktop.headless import run_alerts_check

        return run_alerts_check(args)
    if args.command == "store":
        from desktop.headless import run_store_copy

        return run_store_copy(args)
    if args.command == "sync":
        from desktop.headless import run_sync

        return run_sync(args)
    paths = AppPaths.for_gui(args.data_dir, args.demo)  # demo data never beside real data
    paths = paths.with_database(args.database)
    from desktop.app import run_gui, run_self_test

    if args.self_test:
        return run_self_test(paths)
    return run_gui(paths, demo=args.demo)


if __name__ == "__main__":
    sys.exit(main())
