"""The command line's shape: subcommands (and groups of them, `neutone keys
create`), each taking `--json` and running one function."""

import argparse
from collections.abc import Callable
from typing import TypeAlias

from cli.client import Client
from cli.output import Output

Command: TypeAlias = Callable[[Client, Output, argparse.Namespace], None]


class Commands:
    """Where a module adds its subcommands."""

    def __init__(self, parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
        self._subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        self._common = common

    def add(self, name: str, run: Command, *, help: str) -> argparse.ArgumentParser:
        parser = self._subparsers.add_parser(
            name, help=help, description=help, parents=[self._common]
        )
        parser.set_defaults(run=run)
        return parser

    def group(self, name: str, *, help: str) -> "Commands":
        parser = self._subparsers.add_parser(name, help=help, description=help)
        return Commands(parser, self._common)


def with_common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        help="print the reply as one JSON document (the contract's field names), for scripts",
    )
    return common


def add_paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--page-size", type=int, default=0, help="at most this many (the service's default if 0)"
    )
    parser.add_argument("--page-token", default="", help="the next page, as a previous page said")
