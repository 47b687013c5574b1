"""Command line: the GUI by default, plus headless commands for scripts and servers."""

from __future__ import annotations

import argparse
import sys

from desktop import APP_NAME, __version__


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
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start offscreen, open every main view once, exit 0 when all went well",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from desktop.paths import AppPaths

    paths = AppPaths.in_dir(args.data_dir) if args.data_dir else AppPaths.for_user()
    from desktop.app import run_gui, run_self_test

    if args.self_test:
        return run_self_test(paths)
    return run_gui(paths)


if __name__ == "__main__":
    sys.exit(main())
