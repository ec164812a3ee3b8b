"""The jobs routes, Prefer parsing, the 202 helper and Idempotency-Key through the gateway,
with a fake processor (the Triton-backed one is wired by the processing routes)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from lama_serve.gateway.app import create_app
from lama_serve.gateway.auth import hash_key, key_id
from lama_serve.gateway.idempotency import canonical_body
from lama_serve.gateway.routes._async import parse_prefer, respond_with_job
from tests.gateway.conftest import API_KEY, AUTH, SettingsFactory, assert_error, serve
from tests.jobs.conftest import echo

pytestmark = pytest.mark.anyio
OTHER_KEY = "gateway-other-key-0123456789"


@pytest.fixture
async def app_client(make_settings: SettingsFactory, tmp_path) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"{hash_key(API_KEY)}\n{hash_key(OTHER_KEY)}\n")
    app = create_app(make_settings(api_key=None, api_keys_file=keys_file))
    app.state.services.job_processor = echo
    async with serve(app) as client:
        yield client, app.state.services


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, (False, None)),
        ("respond-async", (True, None)),
        ("respond-async, wait=5", (True, 5.0)),
        ('wait="2.5";x=1, handling=lenient', (False, 2.5)),
        ("wait=soon", (False, None)),
    ],
)
def test_parse_prefer(header: str | None, expected: tuple) -> None:
    assert parse_prefer(header) == expected


async def test_202_poll_result_list_and_privacy(app_client) -> None:
    client, services = app_client
    job = await services.jobs.submit(key_id(API_KEY), "single", {"image": b"png"}, {"sleep": 0.3})
    response = await respond_with_job(services.jobs, job, None)
    assert response.status_code == 202
    assert response.headers["Location"] == f"/api/v1/jobs/{job.id}"
    assert response.headers["Preference-Applied"] == "respond-async"
    assert_error(await client.get(f"/api/v1/jobs/{job.id}/result", headers=AUTH), 409, "poll")
    assert_error(await client.get(f"/api/v1/jobs/{job.id}", headers={"X-API-Key": OTHER_KEY}), 404)
    while (body := (await client.get(f"/api/v1/jobs/{job.id}", headers=AUTH)).json())["status"] != "succeeded":
        assert body["status"] in ("queued", "processing")
    assert body["urls"]["result"] == f"/api/v1/jobs/{job.id}/result"
    result = await client.get(body["urls"]["result"], headers=AUTH)
    assert result.content == b"png" and result.headers["x-echo"] == job.id
    listed = (await client.get("/api/v1/jobs?limit=1", headers=AUTH)).json()
    assert [j["id"] for j in listed["jobs"]] == [job.id] and listed["next_cursor"] is None
    assert (await client.get("/api/v1/jobs", headers={"X-API-Key": OTHER_KEY})).json()["jobs"] == []


async def test_wait_returns_the_result_or_the_error(app_client) -> None:
    _, services = app_client
    owner = key_id(API_KEY)
    quick = await services.jobs.submit(owner, "single", {"image": b"img"}, {})
    response = await respond_with_job(services.jobs, quick, 5)
    assert response.status_code == 200 and response.body == b"img"
    failing = await services.jobs.submit(owner, "single", {}, {"fail": "no mask"})
    assert (await respond_with_job(services.jobs, failing, 5)).status_code == 400
    slow = await services.jobs.submit(owner, "single", {}, {"sleep": 5})
    assert (await respond_with_job(services.jobs, slow, 0.2)).status_code == 202


async def test_cancel_and_idempotent_post(app_client) -> None:
    client, services = app_client
    owner = key_id(API_KEY)
    job = await services.jobs.submit(owner, "single", {}, {"sleep": 30})
    other = await services.jobs.submit(owner, "single", {}, {"sleep": 30})
    once = {**AUTH, "Idempotency-Key": "cancel-1"}
    first = await client.post(f"/api/v1/jobs/{job.id}/cancel", headers=once)
    assert first.status_code == 200 and first.json()["status"] == "canceled"
    again = await client.post(f"/api/v1/jobs/{job.id}/cancel", headers=once)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert_error(await client.post(f"/api/v1/jobs/{other.id}/cancel", headers=once), 422, "different request")
    assert_error(await client.post(f"/api/v1/jobs/{job.id}/cancel", headers={"X-API-Key": OTHER_KEY}), 404)


def test_canonical_body_ignores_only_the_boundary() -> None:
    def form(boundary: str, content: bytes) -> bytes:
        return b'--%s\r\nContent-Disposition: form-data; name="image"\r\n\r\n%s\r\n--%s--\r\n' % (
            boundary.encode(),
            content,
            boundary.encode(),
        )

    one, two = (
        canonical_body("multipart/form-data; boundary=aaa1", form("aaa1", b"x")),
        canonical_body('multipart/form-data; boundary="bbb2"', form("bbb2", b"x")),
    )
    assert one == two != canonical_body("multipart/form-data; boundary=ccc3", form("ccc3", b"y"))
    assert canonical_body("application/json", b"aaa1") == b"aaa1"
