"""Health (no auth), the OpenAPI description and Prometheus metrics."""

from __future__ import annotations

import json

import pytest

from lama_serve.triton.process import TritonProcess

from .conftest import AUTH, SettingsFactory, box_mask, encode, files, gateway, noise

pytestmark = pytest.mark.anyio


async def test_healthy_with_random_weights_warning(
    make_settings: SettingsFactory, triton_server: TritonProcess
) -> None:
    settings = make_settings(triton_url=triton_server.http_url, model_repository=triton_server.repository)
    async with gateway(settings) as client:
        response = await client.get("/api/v1/health")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "healthy" and body["model"] == "lama" and body["triton_ready"]
    assert body["device"] == "cpu" and body["gpu_available"] is False and body["model_version"] == "1"
    assert "RANDOM WEIGHTS" in body["warning"]
    assert body["weights"] == {"name": "random", "sha256": "random", "source": "random"}
    assert "error" not in body


async def test_no_warning_when_repository_not_local(
    make_settings: SettingsFactory, triton_server: TritonProcess
) -> None:
    async with gateway(make_settings(triton_url=triton_server.http_url)) as client:
        body = (await client.get("/api/v1/health")).json()
    assert body["status"] == "healthy" and "warning" not in body and "weights" not in body


async def test_unhealthy_503_when_triton_down(make_settings: SettingsFactory) -> None:
    async with gateway(make_settings()) as client:
        response = await client.get("/api/v1/health")
    body = response.json()
    assert response.status_code == 503 and response.headers["Retry-After"] == "3"
    assert body["status"] == "unhealthy" and body["triton_ready"] is False
    assert body["status_code"] == 503 and "127.0.0.1:9" in body["detail"]


async def test_root_identifies_service(make_settings: SettingsFactory) -> None:
    async with gateway(make_settings()) as client:
        body = (await client.get("/")).json()
    assert body["model"] == "lama" and body["docs"] == "/docs"


async def test_openapi_documents_contract(make_settings: SettingsFactory) -> None:
    async with gateway(make_settings()) as client:
        spec = (await client.get("/openapi.json")).json()
        assert (await client.get("/docs")).status_code == 200
    post = spec["paths"]["/api/v1/remove-watermark"]["post"]
    assert post["security"] == [{"ApiKeyAuth": []}]
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"]["name"] == "X-API-Key"
    assert {"200", "400", "401", "413", "429", "503", "504"} <= set(post["responses"])
    # validation errors are the v1 400: FastAPI's own 422 is not documented (a real 422 may be)
    assert "HTTPValidationError" not in json.dumps(spec)
    assert all(
        r.get("422", {}).get("description") != "Validation Error"
        for path in spec["paths"].values()
        for op in path.values()
        for r in [op.get("responses", {})]
    )
    assert "X-Model-Version" in post["responses"]["200"]["headers"]
    assert "Retry-After" in post["responses"]["503"]["headers"]
    assert post["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "security" not in spec["paths"]["/api/v1/health"]["get"]
    assert spec["paths"]["/api/v1/stats"]["get"]["security"] == [{"ApiKeyAuth": []}]


async def test_metrics_names(make_settings: SettingsFactory, triton_server: TritonProcess) -> None:
    async with gateway(make_settings(triton_url=triton_server.http_url)) as client:
        await client.post(
            "/api/v1/remove-watermark", headers=AUTH, files=files(encode(noise(8, 8)), encode(box_mask(8, 8)))
        )
        text = (await client.get("/metrics")).text
    assert 'lama_gateway_requests_total{route="/api/v1/remove-watermark",status="200",version="1"} 1.0' in text
    assert 'lama_gateway_request_duration_seconds_count{route="/api/v1/remove-watermark"} 1.0' in text
    for stage in ("decode", "preprocess", "triton", "encode"):
        assert f'lama_gateway_stage_duration_seconds_count{{stage="{stage}"}} 1.0' in text
    assert "lama_gateway_in_flight_requests 1.0" in text  # the /metrics request itself
    for direction in ("request", "response"):
        assert f'lama_gateway_payload_bytes_count{{direction="{direction}"}} 1.0' in text
