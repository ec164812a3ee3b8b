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
