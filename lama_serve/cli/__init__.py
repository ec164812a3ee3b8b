"""`lama-serve`: one entry point, one subcommand per capability.

Each tool package registers its own subcommands; the dispatcher turns the project's root
exception into one error line and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lama_serve.bench import cli as bench_cli
from lama_serve.core.errors import LamaServeError
from lama_serve.export import cli as export_cli
from lama_serve.export import detector_cli, weights_cli
from lama_serve.rollout import cli as rollout_cli
from lama_serve.up import cli as up_cli
from lama_serve.up import keys as keys_cli

SUBCOMMANDS = (export_cli, weights_cli, detector_cli, up_cli, keys_cli, bench_cli, rollout_cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lama-serve", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LamaServeError as error:  # every domain error says how to fix it: print that, no traceback
        print(f"lama-serve {args.command}: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
