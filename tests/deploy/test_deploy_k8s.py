"""deploy/k8s, checked offline: kustomizations list existing files, the base is valid
against the Kubernetes 1.30 schemas, and ports, probes, env names and the HPA metric
agree with the gateway, Triton and the Prometheus adapter rule."""

from __future__ import annotations

import re
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from .deploy_files import K8S, assert_locked_like_up
from .deploy_metrics import ADAPTER_VALUES

# The oldest Kubernetes still in mainstream support when this was written; the manifests
# use nothing newer (autoscaling/v2, policy/v1).
KUBERNETES_VERSION = "1.30"
KUSTOMIZATIONS = sorted(K8S.rglob("kustomization.yaml"))


def _pod_spec(objects, name: str) -> dict:
    return objects["Deployment", name]["spec"]["template"]["spec"]


def _container(objects, name: str) -> dict:
    (container,) = _pod_spec(objects, name)["containers"]
    return container


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(K8S)))
def test_kustomization_lists_existing_files(kustomization):
    spec = yaml.safe_load(kustomization.read_text())
    assert spec["resources"]
    for resource in spec["resources"]:
        target = kustomization.parent / resource
        assert target.is_file() or (target / "kustomization.yaml").is_file(), f"{resource} missing"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) not installed")
@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(K8S)))
def test_kustomize_builds(kustomization):
    result = subprocess.run(
        ["kubectl", "kustomize", str(kustomization.parent)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert all(
        doc["metadata"]["namespace"] == "lama"
        for doc in yaml.safe_load_all(result.stdout)
        if doc["kind"] != "Namespace"
    )


def test_base_is_schema_valid(k8s_base):
    for doc in k8s_base:
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name}: {error.message} at {list(error.absolute_path)}")


def test_base_has_no_secret_values(k8s_base):
    """Keys are a Secret the operator creates; the manifests only reference it."""
    assert not [doc for doc in k8s_base if doc["kind"] == "Secret"]


def test_triton_gpu_probes_and_volume(k8s_objects):
    container = _container(k8s_objects, "triton")
    assert container["image"] == "lama-serve-triton:0.1.0"  # deploy/triton.Dockerfile
    resources = container["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == 1
    assert resources["requests"]["cpu"] and resources["limits"]["memory"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["startupProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    (claim,) = [
        v["persistentVolumeClaim"] for v in _pod_spec(k8s_objects, "triton")["volumes"] if "persistentVolumeClaim" in v
    ]
    assert ("PersistentVolumeClaim", claim["claimName"]) in k8s_objects
    assert {"mountPath": "/models", "name": "model-repository", "readOnly": True} in container["volumeMounts"]


def test_triton_flags_match_compose(k8s_triton_flags, compose_triton_flags):
    assert k8s_triton_flags == compose_triton_flags


def _secret_file(objects, name: str, path: str) -> str:
    """The Secret behind the file `path` in Deployment `name`'s container (mode checked)."""
    mount = next(m for m in _container(objects, name)["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in _pod_spec(objects, name)["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["defaultMode"] == 0o440, f"{name}: owner and fsGroup only"
    return volume["secret"]["secretName"]


def test_triton_locked_with_the_secret_the_gateway_reads(k8s_objects, k8s_triton_flags, settings_defaults):
    """Same policy as `up` and compose; Triton reads its key from the Secret the gateway's
    TRITON_ADMIN_KEY_FILE comes from (so the gateway can infer and reload models)."""
    assert_locked_like_up(k8s_triton_flags, settings_defaults)
    script = _container(k8s_objects, "triton")["args"][-1]
    (triton_file,) = re.findall(r"\$\(cat (\S+)\)", script)
    assert "urandom" not in script and "LD_PRELOAD=/opt/lama/libsecret_argv.so" in script
    env = {item["name"]: item for item in _container(k8s_objects, "gateway")["env"]}
    gateway_file = env["TRITON_ADMIN_KEY_FILE"]["value"]
    assert _secret_file(k8s_objects, "triton", triton_file) == "lama-triton-admin-key"
    assert _secret_file(k8s_objects, "gateway", gateway_file) == "lama-triton-admin-key"
    assert triton_file.rsplit("/", 1)[1] == gateway_file.rsplit("/", 1)[1]  # the same key


def test_services_target_named_container_ports(k8s_objects):
    for (kind, name), service in k8s_objects.items():
        if kind != "Service":
            continue
        container_ports = {p["name"]: p["containerPort"] for p in _container(k8s_objects, name)["ports"]}
        assert service["spec"]["selector"] == k8s_objects["Deployment", name]["spec"]["selector"]["matchLabels"]
        for port in service["spec"]["ports"]:
            assert container_ports[port["targetPort"]] == port["port"], f"{name}:{port['name']}"


def test_gateway_env_and_ports(k8s_objects, settings_env_names, settings_defaults):
    container = _container(k8s_objects, "gateway")
    env = {item["name"]: item for item in container["env"]}
    unknown = set(env) - settings_env_names
    assert not unknown, f"gateway env the settings do not read: {sorted(unknown)}"
    host, port = env["TRITON_URL"]["value"].split(":")
    triton_ports = {p["name"]: p["port"] for p in k8s_objects["Service", host]["spec"]["ports"]}
    assert int(port) == triton_ports["http"] == settings_defaults["triton_http_port"]
    gateway_port = settings_defaults["gateway_port"]
    assert int(env["GATEWAY_PORT"]["value"]) == gateway_port
    assert container["ports"] == [{"name": "http", "containerPort": gateway_port}]
    # Secrets only by reference.
    assert env["API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "lama-gateway-keys"
    keys = [v for v in _pod_spec(k8s_objects, "gateway")["volumes"] if v["name"] == "keys"]
    assert keys[0]["secret"]["secretName"] == "lama-gateway-keys"
    assert env["API_KEYS_FILE"]["value"].startswith(
        next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "keys") + "/"
    )


def test_gateway_jobs_share_the_redis_service(k8s_objects):
    env = {item["name"]: item for item in _container(k8s_objects, "gateway")["env"]}
    assert env["JOBS_BACKEND"]["value"] == "redis"
    host, port = env["REDIS_URL"]["value"].removeprefix("redis://").split("/")[0].split(":")
    assert {p["name"]: p["port"] for p in k8s_objects["Service", host]["spec"]["ports"]} == {"redis": int(port)}
    assert env["WEBHOOK_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "lama-gateway-keys"
    redis = _container(k8s_objects, "redis")
    assert "--appendonly" in redis["args"]
    (claim,) = [v["persistentVolumeClaim"] for v in _pod_spec(k8s_objects, "redis")["volumes"]]
    assert ("PersistentVolumeClaim", claim["claimName"]) in k8s_objects


def test_gateway_replicas_and_probes(k8s_objects):
    assert k8s_objects["Deployment", "gateway"]["spec"]["replicas"] >= 2
    container = _container(k8s_objects, "gateway")
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/health"
    # Health is 503 while Triton warms up: liveness must not depend on it.
    assert "httpGet" not in container["livenessProbe"]
    assert _pod_spec(k8s_objects, "gateway")["securityContext"]["runAsNonRoot"] is True


def test_autoscalers_and_disruption_budgets(k8s_objects):
    for name in ("triton", "gateway"):
        hpa = k8s_objects["HorizontalPodAutoscaler", name]
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        pdb = k8s_objects["PodDisruptionBudget", name]
        assert pdb["spec"]["selector"] == k8s_objects["Deployment", name]["spec"]["selector"]
    assert k8s_objects["HorizontalPodAutoscaler", "gateway"]["spec"]["minReplicas"] >= 2
    (cpu,) = k8s_objects["HorizontalPodAutoscaler", "gateway"]["spec"]["metrics"]
    assert cpu["resource"]["name"] == "cpu"


def test_triton_hpa_metric_is_served_by_the_adapter(k8s_objects):
    (metric,) = k8s_objects["HorizontalPodAutoscaler", "triton"]["spec"]["metrics"]
    assert metric["type"] == "Pods"
    rules = yaml.safe_load(ADAPTER_VALUES.read_text())["rules"]["custom"]
    served = {rule["name"]["as"] for rule in rules}
    assert metric["pods"]["metric"]["name"] in served
    # Per-pod metrics need the pod/namespace labels mapped to resources.
    for rule in rules:
        assert set(rule["resources"]["overrides"]) == {"namespace", "pod"}


def test_export_job_fetches_into_the_model_repository(k8s_objects, settings_env_names):
    """The Job writes the PVC Triton reads: weights fetched at run time, never in an image."""
    job = k8s_objects["Job", "lama-export"]["spec"]["template"]["spec"]
    (container,) = job["containers"]
    assert container["command"] == ["export-model"]
    assert container["image"] == "lama-serve-export:0.1.0"
    env = {item["name"]: item["value"] for item in container["env"]}
    assert set(env) <= settings_env_names
    mount = next(m for m in container["volumeMounts"] if m["name"] == "model-repository")
    assert mount["mountPath"] == env["MODEL_REPOSITORY"] and not mount.get("readOnly")
    assert env["WEIGHTS_CACHE_DIR"].startswith(env["MODEL_REPOSITORY"] + "/")
    (volume,) = job["volumes"]
    triton_volumes = _pod_spec(k8s_objects, "triton")["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] in {
        v["persistentVolumeClaim"]["claimName"] for v in triton_volumes if "persistentVolumeClaim" in v
    }
    assert job["securityContext"]["runAsNonRoot"] is True
