"""Checks shared by the settings sections: published placeholders, blank values, comma lists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import NoDecode

# Fragments of the keys in the v1 docs and samples (`your_secret_key_change_me`,
# `your_api_key_here`, `sk_live_1234567890abcdef`, ...): such a key is public knowledge.
PLACEHOLDER_MARKERS = ("changeme", "change_me", "change-me", "your_api_key", "your_secret", "example", "1234567890")
MIN_API_KEY_LENGTH = 16
WEBHOOK_SECRET_HINT = "generate one with `lama-serve keys webhook-secret new`"
KEY_FIX_HINT = "generate one with `lama-serve keys new` and set API_KEY or add its hash to API_KEYS_FILE"


def plain_text(value: object) -> object:
    """The stripped text of a str or SecretStr; anything else as it is (pydantic rejects it)."""
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    return plain.strip() if isinstance(plain, str) else plain


def is_placeholder(plain: str) -> bool:
    """A fragment of the keys published in the v1 docs and samples."""
    return any(marker in plain.lower() for marker in PLACEHOLDER_MARKERS)


def checked_secret(value: object, variable: str, hint: str, prefix: str = "") -> object:
    """A key or signing secret, stripped; refused when it is a published placeholder or does
    not start with `prefix` and MIN_API_KEY_LENGTH characters after it: a guessable secret
    is worse than none. None and non-text values pass (pydantic decides on them)."""
    plain = plain_text(value)
    if not isinstance(plain, str):
        return plain
    if is_placeholder(plain):
        raise ValueError(f"{variable} is a published placeholder; {hint}")
    if not plain.startswith(prefix) or len(plain) < len(prefix) + MIN_API_KEY_LENGTH:
        shape = f"`{prefix}` + base64" if prefix else f"at least {MIN_API_KEY_LENGTH} characters long"
        raise ValueError(f"{variable} must be {shape} (it is not, or empty); {hint}")
    return plain


def blank_is_unset(value: object) -> object:
    """Compose passes `LAMA_MODEL_URL:` through as an empty string when the shell lacks it;
    an empty path would be the working directory (`API_KEYS_FILE=` read "." as a key file)."""
    return None if isinstance(value, str) and not value.strip() else value


def split_commas(value: object) -> object:
    """Accept `a,b` from the environment as well as a sequence (pydantic converts the parts)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# Settings given as `a,b,c` in the environment (NoDecode: not parsed as JSON first).
CommaStrings = Annotated[tuple[str, ...], NoDecode, BeforeValidator(split_commas)]
CommaInts = Annotated[tuple[int, ...], NoDecode, BeforeValidator(split_commas)]
CommaFloats = Annotated[tuple[float, ...], NoDecode, BeforeValidator(split_commas)]
CommaPositiveFloats = Annotated[tuple[Annotated[float, Field(gt=0)], ...], NoDecode, BeforeValidator(split_commas)]
CommaList = Annotated[list[str], NoDecode, BeforeValidator(split_commas)]
# Optional settings where an empty value means unset (blank_is_unset).
OptionalPath = Annotated[Path | None, BeforeValidator(blank_is_unset)]
OptionalText = Annotated[str | None, BeforeValidator(blank_is_unset)]
