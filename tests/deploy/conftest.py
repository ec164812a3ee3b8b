"""Fixtures of the offline deployment checks: parsed compose file, Kubernetes manifests,
the gateway's env names and Triton's command-line flags."""

from __future__ import annotations

import pytest
import yaml

from .deploy_files import COMPOSE_FILE, K8S, tritonserver_flags


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="session")
def k8s_base() -> list[dict]:
    """Every object of deploy/k8s/base, in kustomization order."""
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    return [
        doc
        for resource in kustomization["resources"]
        for doc in yaml.safe_load_all((K8S / "base" / resource).read_text())
        if doc
    ]


@pytest.fixture(scope="session")
def k8s_objects(k8s_base) -> dict[tuple[str, str], dict]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in k8s_base}


@pytest.fixture(scope="session")
def settings_env_names() -> frozenset[str]:
    """Env names the gateway reads: its settings fields, upper-cased."""
    from lama_serve.core.settings import Settings

    return frozenset(name.upper() for name in Settings.model_fields)


@pytest.fixture(scope="session")
def settings_defaults():
    from lama_serve.core.settings import Settings

    return {name: field.default for name, field in Settings.model_fields.items()}


@pytest.fixture(scope="session")
def compose_triton_flags(compose) -> dict[str, str]:
    return tritonserver_flags(compose["services"]["triton"]["command"][-1])


@pytest.fixture(scope="session")
def k8s_triton_flags(k8s_objects) -> dict[str, str]:
    container = k8s_objects["Deployment", "triton"]["spec"]["template"]["spec"]["containers"][0]
    return tritonserver_flags(container["args"][-1])
