"""Flags that override settings: each declared once with the field it sets, applied in one place.

A flag's help names its environment variable and default (read from `Settings`), so the two
never disagree; `settings_from_args` turns a validation failure into a `ConfigurationError`
(core.settings.load_settings) that the `lama-serve` dispatcher prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from lama_serve.core.settings import Settings, load_settings

_MAPPING = "settings_flags"  # parser default: flag dest -> Settings field


def add_setting_flag(
    parser: argparse.ArgumentParser, flag: str, field: str, text: str, type: Callable[[str], Any] = str
) -> None:
    """`flag` sets `Settings.<field>`; left out, the environment's (or default) value stays."""
    dest = flag.lstrip("-").replace("-", "_")
    default = Settings.model_fields[field].default
    parser.add_argument(flag, dest=dest, type=type, help=f"{text} (env {field.upper()}; default {default})")
    parser.set_defaults(**{_MAPPING: {**(parser.get_default(_MAPPING) or {}), dest: field}})


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment settings (validated) with the given flags applied on top; an error names
    a flag that was given by the flag, the rest by their environment variables."""
    flags: dict[str, str] = getattr(args, _MAPPING, None) or {}
    given = {dest: field for dest, field in flags.items() if getattr(args, dest) is not None}
    overrides = {field: getattr(args, dest) for dest, field in given.items()}
    return load_settings(overrides, labels={field: "--" + dest.replace("_", "-") for dest, field in given.items()})
