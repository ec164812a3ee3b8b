"""Security properties of the running gateway (threat model: docs/security.md)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from lama_serve.core.settings import Settings
from lama_serve.gateway.app import create_app
from lama_serve.gateway.auth import generate_key, key_id
from lama_serve.triton.process import TritonProcess
from tests.gateway.conftest import (
    AUTH,
    DEAD_TRITON,
    SettingsFactory,
    assert_error,
    gateway,
)

from .conftest import (
    URL,
    assert_security_headers,
    box_mask,
    encode,
    files,
    good_parts,
    live_gateway,
)

pytestmark = pytest.mark.anyio
# Triton's own API under the gateway's address; the admin (repository) part first.
TRITON_PATHS = [
    ("POST", "/v2/repository/index"),
    ("POST", "/v2/repository/models/lama/load"),
    ("POST", "/v2/repository/models/lama/unload"),
    ("GET", "/v2/models/lama/config"),
    ("POST", "/v2/models/lama/infer"),
    ("GET", "/v2/health/ready"),
    ("GET", "/v2"),
]


@pytest.fixture
def key() -> str:
    """A real generated key (`lama_` + 43 random characters)."""
    return generate_key()[0]


def exchanges(base_url: str, key: str) -> Iterator[httpx.Response]:
    """Requests that make the gateway log: success, bad input, wrong key, Triton down."""
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client.post(URL, headers=headers, files=good_parts())
        yield client.post(URL, headers=headers, files=files(b"not an image", encode(box_mask(8, 8))))
        yield client.post(URL, headers={"X-API-Key": key[:-2] + "xx"}, files=good_parts())  # a near miss
        yield client.get("/api/v1/stats", headers=headers)
        yield client.get("/api/v1/health")


def test_keys_never_in_logs_or_responses(
    key: str, make_settings: SettingsFactory, triton_server: TritonProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """Everything logged at DEBUG (gateway, uvicorn access and error logs), every body and
    header: neither the key, nor its first 12 characters, nor a near miss of it."""
    caplog.set_level(logging.DEBUG)
    # uvicorn's default logging config (applied by any earlier uvicorn run in this process)
    # stops its loggers propagating to the root logger, where caplog listens: listen on them.
    # An earlier run may also have left their levels at WARNING (uvicorn sets log_level on them).
    uvicorn_loggers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.access", "uvicorn.error")]
    for logger in uvicorn_loggers:
        caplog.set_level(logging.DEBUG, logger=logger.name)  # restored after the test
        logger.addHandler(caplog.handler)
    texts: list[str] = []
    try:
        for triton_url in (triton_server.http_url, DEAD_TRITON):
            settings = make_settings(api_key=key, triton_url=triton_url, log_level="debug")
            with live_gateway(settings) as base_url:
                for response in exchanges(base_url, key):
                    assert response.status_code < 500 or response.status_code == 503
                    texts += [response.text, str(response.headers)]
    finally:
        for logger in uvicorn_loggers:
            logger.removeHandler(caplog.handler)
    texts += [record.getMessage() for record in caplog.records] + [caplog.text]
    assert any("POST /api/v1/remove-watermark" in text for text in texts)  # access log captured
    everything = "\n".join(texts)
    for secret in (key, key[:12], key[:-2] + "xx", key[len("lama_") :][:12]):
        assert secret not in everything
    assert key_id(key) not in everything  # even the key id stays server-side


@pytest.mark.parametrize(("method", "path"), TRITON_PATHS)
async def test_triton_api_not_reachable_through_gateway(
    method: str, path: str, make_settings: SettingsFactory, triton_server: TritonProcess
) -> None:
    admin = {**AUTH, "lama-admin-key": "guess", "Content-Type": "application/json"}
    async with gateway(make_settings(triton_url=triton_server.http_url)) as client:
        response = await client.request(method, path, headers=admin, content=b"{}")
        assert_error(response, 404)
        assert (await client.get("/api/v1/health")).json()["triton_ready"] is True  # still loaded


async def test_security_headers_on_every_kind_of_response(
    make_settings: SettingsFactory, triton_server: TritonProcess
) -> None:
    async with gateway(make_settings(triton_url=triton_server.http_url, max_upload_bytes=64)) as client:
        responses = [
            await client.get("/"),
            await client.get("/openapi.json"),
            await client.get("/api/v1/health"),
            await client.post(URL, files=good_parts()),  # 401
            await client.post(URL, headers=AUTH, files=good_parts()),  # 413
            await client.get("/nope"),  # 404
            await client.put(URL),  # 405
        ]
    assert [r.status_code for r in responses] == [200, 200, 200, 401, 413, 404, 405]
    for response in responses:
        assert_security_headers(response.headers)


async def test_internal_error_is_opaque_and_carries_security_headers(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (here: a decoder raising an unexpected type) is a 500 without internals, and,
    though Starlette sends it from outside every middleware, with the security headers."""

    def broken(*_: object) -> None:
        raise RuntimeError("secret internal state /etc/passwd")

    monkeypatch.setattr("lama_serve.gateway.inpaint.imaging.decode_image", broken)
    app = create_app(make_settings())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://g") as client,
    ):
        response = await client.post(URL, headers=AUTH, files=good_parts())
    assert_error(response, 500, "operator can find it in the gateway log")
    assert "secret" not in response.text and "passwd" not in response.text
    assert_security_headers(response.headers)


async def test_cors_off_by_default_and_limited_to_listed_origins(make_settings: SettingsFactory) -> None:
    """Without CORS_ORIGINS no response allows a browser origin; with it, only the listed
    origins, and never `*` (keys travel in a header a page could otherwise send)."""
    evil = {"Origin": "https://evil.example"}
    async with gateway(make_settings()) as client:
        for response in (
            await client.get("/api/v1/health", headers=evil),
            await client.post(URL, headers=evil),
        ):
            assert "access-control-allow-origin" not in response.headers
    async with gateway(make_settings(cors_origins=["https://app.example"])) as client:
        allowed = await client.get("/api/v1/health", headers={"Origin": "https://app.example"})
        denied = await client.get("/api/v1/health", headers=evil)
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "Retry-After" in allowed.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in denied.headers
    with pytest.raises(ValidationError, match="may not be"):
        Settings(api_key="x" * 20, cors_origins="*")
