"""`lama-serve up`: the embedded default (bundled Triton + gateway) in one command."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lama_serve.core.cli_args import add_setting_flag, settings_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `up`. Flags override the environment, which overrides the defaults."""
    parser = subparsers.add_parser(
        "up",
        help="serve: export a model if none exists, start Triton, then the gateway",
        description="Start the bundled Triton (CPU config) on the model repository and the "
        "gateway in front of it; with TRITON_URL set, start only the gateway. "
        "See docs/serving.md.",
    )
    add_setting_flag(parser, "--host", "gateway_host", "gateway bind address")
    add_setting_flag(parser, "--port", "gateway_port", "gateway port", int)
    add_setting_flag(parser, "--triton-http-port", "triton_http_port", "bundled Triton HTTP port", int)
    add_setting_flag(parser, "--triton-metrics-port", "triton_metrics_port", "bundled Triton metrics port", int)
    add_setting_flag(
        parser,
        "--triton-grpc-port",
        "triton_grpc_port",
        "bundled Triton gRPC port, which the gateway infers over (0: HTTP)",
        int,
    )
    add_setting_flag(parser, "--repository", "model_repository", "Triton model repository", Path)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lama_serve.up.up import run_up

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_up(settings_from_args(args))
