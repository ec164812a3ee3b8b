"""docker-compose.yml and its Dockerfiles, checked offline: every referenced file exists,
ports and env names agree with the gateway's settings and Triton's flags, secrets stay
out of git and images."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lama_serve.triton.process import free_port
from lama_serve.triton.secret_shim import PLACEHOLDER

from .deploy_files import DEPLOY, REPO, assert_locked_like_up, compose_default

SERVICES = {"export", "triton", "gateway", "redis", "prometheus", "grafana", "nginx"}
TRITON_IMAGE = "nvcr.io/nvidia/tritonserver:24.10-py3"  # Triton 2.51.0
# Bind-mount sources the operator provides at deploy time (docs/deploy.md), so absent
# from a checkout: the checkpoint folder (its *.pt are git-ignored) and the TLS folder.
OPERATOR_PROVIDED = {"./checkpoints", "./deploy/secrets/tls"}


def _bind_mounts(service: dict) -> list[tuple[str, str]]:
    """(host path with defaults applied, container path) of a service's bind mounts."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = compose_default(volume).split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append((source, target))
    return mounts


def _container_port(mapping: str) -> int:
    return int(compose_default(mapping).rsplit(":", 1)[1])


def _dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def _is_git_ignored(path: str) -> bool:
    result = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", "--no-index", path], check=False)
    return result.returncode == 0


def test_services_and_pinned_images(compose):
    services = compose["services"]
    assert set(services) == SERVICES
    triton_dockerfile = REPO / services["triton"]["build"]["dockerfile"]
    bases = [args for instruction, args in _dockerfile_instructions(triton_dockerfile) if instruction == "FROM"]
    assert bases[-1] == TRITON_IMAGE, "NVIDIA's image, plus only the secret shim"
    for name, service in services.items():
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: unpinned image {image}"


def test_build_contexts_and_dockerfiles_exist(compose):
    built = {name: s["build"] for name, s in compose["services"].items() if "build" in s}
    assert set(built) == {"export", "gateway", "triton"}
    for name, build in built.items():
        context = REPO / build["context"]
        dockerfile = context / build["dockerfile"]
        assert context.is_dir(), name
        assert dockerfile.is_file(), name
        # BuildKit's per-Dockerfile ignore file keeps checkpoints, models and .git out.
        assert Path(f"{dockerfile}.dockerignore").is_file(), name


def test_bind_mounts_exist(compose):
    for name, service in compose["services"].items():
        for source, _ in _bind_mounts(service):
            if source in OPERATOR_PROVIDED:
                continue
            assert (REPO / source).exists(), f"{name} mounts missing {source}"


def test_named_volumes_declared(compose):
    declared = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = compose_default(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: undeclared volume {source}"


def test_secrets_are_files_kept_out_of_git(compose):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    secret_files = [secret["file"] for secret in compose["secrets"].values()]
    tls = [s for s, t in _bind_mounts(compose["services"]["nginx"]) if t == "/etc/nginx/tls"]
    for path in secret_files + [f"{folder}/tls.key" for folder in tls]:
        assert _is_git_ignored(path), f"{path} could be committed"
    used = {s for service in compose["services"].values() for s in service.get("secrets", [])}
    assert used == set(compose["secrets"])


def test_triton_gpu_reservation_and_health(compose):
    triton = compose["services"]["triton"]
    (device,) = triton["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert any("/v2/health/live" in part for part in triton["healthcheck"]["test"])
    assert ("./model_repository", "/models") in _bind_mounts(triton)
    assert triton["depends_on"]["export"]["condition"] == "service_completed_successfully"


def test_triton_flags(compose_triton_flags, settings_defaults):
    flags = compose_triton_flags
    assert flags["--model-repository"] == "/models"
    assert flags["--model-control-mode"] == "explicit"
    assert flags["--load-model"] == "lama"
    assert flags["--strict-readiness"] == "true"
    assert int(flags["--http-port"]) == settings_defaults["triton_http_port"]
    assert int(flags["--metrics-port"]) == settings_defaults["triton_metrics_port"]
    assert_locked_like_up(flags, settings_defaults)


def test_triton_key_is_the_stored_secret_the_gateway_reads(compose):
    """One stored secret: Triton's script reads the file the gateway's TRITON_ADMIN_KEY_FILE names."""
    triton, gateway = compose["services"]["triton"], compose["services"]["gateway"]
    assert "triton_admin_key" in triton["secrets"] and "triton_admin_key" in gateway["secrets"]
    key_file = gateway["environment"]["TRITON_ADMIN_KEY_FILE"]
    assert key_file == "/run/secrets/triton_admin_key"
    script = triton["command"][-1]
    assert f"cat {key_file}" in script and "urandom" not in script
    assert compose["secrets"]["triton_admin_key"]["file"] == "./deploy/secrets/triton-admin-key"


def test_triton_secret_stays_off_the_command_line(compose, tmp_path):
    """The rendered start script, run with a real secret file: the key is in the environment
    tritonserver gets (for the preloaded library the image ships), never in its argv."""
    secret = tmp_path / "triton_admin_key"
    secret.write_text("s3cret-0123456789abcdef\n")
    script = compose["services"]["triton"]["command"][-1].replace("$$", "$")
    script = script.replace("/run/secrets/triton_admin_key", str(secret))
    # argv and the two variables, as tritonserver would see them
    script = script.replace("exec tritonserver", 'echo "$LD_PRELOAD|$LAMA_TRITON_SECRET|" tritonserver')
    call = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    preload, env_secret, argv = call.split("|", 2)
    assert env_secret == "s3cret-0123456789abcdef"
    assert "s3cret" not in argv and argv.count(PLACEHOLDER) == 2
    copied = [
        args.split()[-1]
        for instruction, args in _dockerfile_instructions(REPO / compose["services"]["triton"]["build"]["dockerfile"])
        if instruction == "COPY" and "--from=shim" in args
    ]
    assert copied == [preload], "LD_PRELOAD must be the library the image ships"
    secret.write_text("\n")
    empty = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert empty.returncode != 0 and "triton-admin-key is empty" in empty.stderr


def test_gateway_env_names_are_settings(compose, settings_env_names):
    env = compose["services"]["gateway"]["environment"]
    unknown = set(env) - settings_env_names
    assert not unknown, f"gateway env the settings do not read: {sorted(unknown)}"
    # Passed through from the shell/.env, never a value in the file.
    assert env["API_KEY"] is None
    assert env["API_KEYS_FILE"] == "/run/secrets/api_keys"


def test_gateway_ports_agree(compose, compose_triton_flags, settings_defaults):
    gateway = compose["services"]["gateway"]
    port = settings_defaults["gateway_port"]
    assert int(gateway["environment"]["GATEWAY_PORT"]) == port
    assert [_container_port(p) for p in gateway["ports"]] == [port]
    host, triton_port = gateway["environment"]["TRITON_URL"].split(":")
    assert host in compose["services"]
    assert triton_port == compose_triton_flags["--http-port"]
    dockerfile = dict(_dockerfile_instructions(REPO / gateway["build"]["dockerfile"]))
    assert dockerfile["EXPOSE"] == str(port)


def test_gateway_jobs_share_the_redis_service(compose):
    """Async jobs: every gateway replica reads one queue at the redis service's port."""
    gateway, redis = compose["services"]["gateway"], compose["services"]["redis"]
    env = gateway["environment"]
    assert env["JOBS_BACKEND"] == "redis" and env["WEBHOOK_SECRET"] is None
    host, port = env["REDIS_URL"].removeprefix("redis://").split("/")[0].split(":")
    assert host == "redis" and port in redis["expose"]
    assert redis["command"][redis["command"].index("--port") + 1] == port
    assert "--appendonly" in redis["command"] and gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    assert env["JOBS_DIR"].startswith("/data/")  # on the gateway-data volume


@pytest.mark.parametrize("service", ["gateway", "export"])
def test_images_non_root_and_pinned(compose, service):
    path = REPO / compose["services"][service]["build"]["dockerfile"]
    instructions = _dockerfile_instructions(path)
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users and users[-1] not in {"root", "0"}, f"{path.name} runs as root"
    for instruction, args in instructions:
        if instruction == "FROM":
            assert re.search(r":\d+\.\d+\.\d+-", args), f"unpinned base {args}"


@pytest.mark.parametrize("dockerfile", sorted(DEPLOY.glob("*.Dockerfile")), ids=lambda p: p.name)
def test_exec_forms_are_json(dockerfile):
    """Docker silently runs a malformed exec form (`CMD [...]`) through a shell instead."""
    for instruction, args in _dockerfile_instructions(dockerfile):
        if instruction in {"CMD", "ENTRYPOINT", "HEALTHCHECK", "VOLUME"} and "[" in args:
            assert isinstance(json.loads(args[args.index("[") :]), list), f"{instruction} {args}"


def test_gateway_image_without_torch_and_with_healthcheck(compose):
    path = REPO / compose["services"]["gateway"]["build"]["dockerfile"]
    instructions = _dockerfile_instructions(path)
    installs = " ".join(args for instruction, args in instructions if instruction == "RUN")
    assert "torch" not in installs and "[export]" not in installs
    healthcheck = dict(instructions)["HEALTHCHECK"]
    assert "/api/v1/health" in healthcheck
    assert "lama_serve.gateway.serve" in dict(instructions)["CMD"]  # uvicorn with Settings' limits


def test_dockerignore_allows_every_package():
    """A package added to pyproject must reach the image builds that install it too."""
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    for ignore in DEPLOY.glob("*.Dockerfile.dockerignore"):
        lines = [line.strip() for line in ignore.read_text().splitlines()]
        rules = [line for line in lines if line and not line.startswith("#")]
        assert rules[0] == "*", f"{ignore.name} must be an allow-list"
        if "pip install" not in (DEPLOY / ignore.name.removesuffix(".dockerignore")).read_text():
            continue  # deploy/triton.Dockerfile takes one C source
        for package in packages:
            assert f"!{package}/" in lines, f"{ignore.name} drops package {package}"


def _script_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The export script's environment; `lama-serve` from this venv and this checkout."""
    return {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "MODEL_REPOSITORY": str(tmp_path),
        "LAMA_CHECKPOINT": str(tmp_path / "missing.pt"),
        **extra,
    }


def test_export_script(tmp_path):
    """Skips when a model exists; without model and checkpoint it fetches the released
    weights, and fails loudly (no random weights) when that fails."""
    script = DEPLOY / "export-model.sh"
    assert os.access(script, os.X_OK)
    assert "deploy/export-model.sh" in (DEPLOY / "export.Dockerfile").read_text()
    unreachable = f"http://127.0.0.1:{free_port()}/big-lama.pt"
    env = _script_env(tmp_path, LAMA_MODEL_URL=unreachable)
    missing = subprocess.run([script], env=env, capture_output=True, text=True, check=False)
    assert missing.returncode == 1 and "no checkpoint" in missing.stdout
    assert f"export failed: cannot download big-lama from {unreachable}" in missing.stderr
    assert not (tmp_path / "lama").exists()
    for detector in ("watermark_text", "watermark_seg"):  # exported first, even when lama fails
        assert (tmp_path / detector / "1" / "model.onnx").is_file()
    (tmp_path / "lama" / "3").mkdir(parents=True)
    (tmp_path / "lama" / "3" / "model.onnx").write_bytes(b"")
    present = subprocess.run([script], env=env, capture_output=True, text=True, check=False)
    assert present.returncode == 0 and "nothing to do" in present.stdout


def test_export_script_fetches_the_released_weights(tmp_path, weights_server):
    """The compose/k8s path end to end: fetch from the (loopback) release host, verify,
    cache next to the models, export (tiny arch here), record the weights."""
    from lama_serve.export.arch import get_arch
    from lama_serve.export.checkpoint import random_generator
    from tests.export.conftest import write_torchscript_checkpoint

    tiny = random_generator(get_arch("tiny"), seed=1).generator
    table = weights_server.serve(write_torchscript_checkpoint(tiny, tmp_path / "served.pt").read_bytes())
    env = _script_env(
        tmp_path / "models", LAMA_MODEL_URL=table.lama_model_url, LAMA_MODEL_SHA256=table.lama_model_sha256
    )
    done = subprocess.run(
        [DEPLOY / "export-model.sh", "--arch", "tiny"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "models" / ".weights" / "big-lama.pt").is_file()
    weights = json.loads((tmp_path / "models" / "lama" / "1" / "export.json").read_text())["weights"]
    assert weights["source"] == "fetched" and weights["sha256"] == table.lama_model_sha256


def test_export_service_fetches_into_the_model_repository(compose):
    """No checkpoint: the weights land in the bind-mounted repository, not in the image."""
    export = compose["services"]["export"]
    env = export["environment"]
    assert env["WEIGHTS_CACHE_DIR"].startswith(env["MODEL_REPOSITORY"] + "/")
    assert export.get("network_mode") != "none", "the fetch needs the network"
    for name in ("LAMA_MODEL_URL", "LAMA_MODEL_MD5", "LAMA_MODEL_SHA256"):
        assert env[name] is None, f"{name} is passed through, never a value in the file"
    ignored = (DEPLOY / "export.Dockerfile.dockerignore").read_text()
    assert "*" in ignored.splitlines() and "!model_repository/" not in ignored


def test_prometheus_scrapes_triton_and_gateway(compose, compose_triton_flags):
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: target
        for job in config["scrape_configs"]
        for group in job["static_configs"]
        for target in group["targets"]
    }
    assert targets["triton"] == f"triton:{compose_triton_flags['--metrics-port']}"
    assert targets["gateway"] == f"gateway:{compose['services']['gateway']['environment']['GATEWAY_PORT']}"
    mounts = dict((t, s) for s, t in _bind_mounts(compose["services"]["prometheus"]))
    assert mounts["/etc/prometheus"] == "./deploy/prometheus"


def test_nginx_proxies_gateway_with_limits(compose):
    nginx = compose["services"]["nginx"]
    assert nginx["profiles"] == ["nginx"]
    mounts = dict((t, s) for s, t in _bind_mounts(nginx))
    conf = (REPO / mounts["/etc/nginx/conf.d/default.conf"]).read_text()
    port = compose["services"]["gateway"]["environment"]["GATEWAY_PORT"]
    assert re.search(rf"server\s+gateway:{port};", conf)
    assert re.search(r"client_max_body_size\s+11m;", conf)
    for name in ("tls.crt", "tls.key"):
        assert f"/etc/nginx/tls/{name}" in conf
    published = {_container_port(p) for p in nginx["ports"]}
    assert published == {int(p) for p in re.findall(r"listen\s+(\d+)", conf)}


def test_docs_explain_every_variable(compose, k8s_objects):
    """docs/deploy.md's tables cover the compose variables and the gateway env."""
    docs = (REPO / "docs" / "deploy.md").read_text()
    interpolated = set(re.findall(r"\$\{(\w+)", (REPO / "docker-compose.yml").read_text()))
    gateway_env = set(compose["services"]["gateway"]["environment"])
    k8s_env = {
        item["name"]
        for item in k8s_objects["Deployment", "gateway"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    export_env = set(compose["services"]["export"]["environment"])
    missing = {name for name in interpolated | gateway_env | k8s_env | export_env if f"`{name}`" not in docs}
    assert not missing, f"docs/deploy.md does not mention {sorted(missing)}"


def test_triton_loads_the_exported_detector_models(compose, tmp_path):
    """The start script adds --load-model for each detector model with a version, only."""
    (tmp_path / "watermark_seg" / "2").mkdir(parents=True)
    (tmp_path / "watermark_seg" / "2" / "model.onnx").write_bytes(b"")
    script = compose["services"]["triton"]["command"][-1].replace("$$", "$")
    secret = tmp_path / "triton_admin_key"
    secret.write_text("s3cret-0123456789abcdef")
    script = script.replace("/run/secrets/triton_admin_key", str(secret))
    script = script.replace("/models", str(tmp_path)).replace("exec tritonserver", "echo tritonserver")
    call = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert "--load-model=lama --load-model=watermark_seg " in call
    assert "watermark_text" not in call
