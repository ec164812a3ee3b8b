"""Paths of the deployment files and the small parsers the deploy tests share."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_FILE = REPO / "docker-compose.yml"

_COMPOSE_DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")


def compose_default(value: str) -> str:
    """A compose string with every `${VAR:-default}` replaced by its default."""
    return _COMPOSE_DEFAULT.sub(lambda match: match.group(2), value)


def tritonserver_flags(script: str) -> dict[str, str]:
    """`--flag=value` pairs of the tritonserver call in a shell script (compose's `$$`
    escapes undone), e.g. {"--load-model": "lama", ...}."""
    script = script.replace("$$", "$").replace("\\\n", " ")
    call = script[script.index("tritonserver") :]
    return dict(re.findall(r"(--[a-z-]+)=(\S+)", call))


def assert_locked_like_up(flags: dict[str, str], settings_defaults: dict) -> None:
    """The restricted-API flags lock what `up`'s Triton locks (LOCKED_APIS, inference
    included) behind the gateway's header, with the key as the shim's placeholder."""
    from lama_serve.triton.process import LOCKED_APIS
    from lama_serve.triton.secret_shim import PLACEHOLDER

    for restriction in ("--http-restricted-api", "--grpc-restricted-protocol"):
        apis, _, header = flags[restriction].partition(":")
        assert set(apis.split(",")) == set(LOCKED_APIS), restriction
        assert header == f"{settings_defaults['triton_admin_header']}={PLACEHOLDER}", restriction
