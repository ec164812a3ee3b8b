"""`lama-serve up`: the embedded default (bundled Triton + gateway) in one command."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pydantic import ValidationError

from lama_serve.core.settings import Settings

# flag dest -> Settings field; a flag left out keeps the environment's (or default) value.
FLAG_FIELDS = {
    "host": "gateway_host",
    "port": "gateway_port",
    "triton_http_port": "triton_http_port",
    "triton_metrics_port": "triton_metrics_port",
    "repository": "model_repository",
}


def _help(text: str, field: str) -> str:
    default = Settings.model_fields[field].default
    return f"{text} (env {field.upper()}; default {default})"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `up`. Flags override the environment, which overrides the defaults."""
    parser = subparsers.add_parser(
        "up", help="serve: export a model if none exists, start Triton, then the gateway",
        description="Start the bundled Triton (CPU config) on the model repository and the "
                    "gateway in front of it; with TRITON_URL set, start only the gateway. "
                    "See docs/serving.md.")
    parser.add_argument("--host", help=_help("gateway bind address", "gateway_host"))
    parser.add_argument("--port", type=int, help=_help("gateway port", "gateway_port"))
    parser.add_argument("--triton-http-port", type=int,
                        help=_help("bundled Triton HTTP port", "triton_http_port"))
    parser.add_argument("--triton-metrics-port", type=int,
                        help=_help("bundled Triton metrics port", "triton_metrics_port"))
    parser.add_argument("--repository", type=Path,
                        help=_help("Triton model repository", "model_repository"))
    parser.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment settings (validated) with the given flags applied on top."""
    overrides = {field: getattr(args, dest) for dest, field in FLAG_FIELDS.items()
                 if getattr(args, dest) is not None}
    return Settings(**overrides)


def run(args: argparse.Namespace) -> int:
    from lama_serve.up.up import run_up

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_args(args)
    except ValidationError as error:  # values hidden: hide_input_in_errors
        logging.getLogger(__name__).error("invalid settings; fix these flags or env vars:\n%s", error)
        return 2
    return run_up(settings)
