"""`Prefer: respond-async` / `wait=N` and webhooks on the processing routes, against the real
bundled Triton: a job's result is the synchronous answer, byte for byte."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from lama_serve.gateway.auth import hash_key
from lama_serve.triton.process import TritonProcess
from tests.gateway.conftest import (
    AUTH,
    SettingsFactory,
    assert_error,
    box_mask,
    encode,
    files,
    finished,
    gateway,
    noise,
)
from tests.jobs.conftest import WEBHOOK_SECRET, Receiver, receiver  # noqa: F401  (fixture)

pytestmark = pytest.mark.anyio
URL = "/api/v1/remove-watermark"
ASYNC = {**AUTH, "Prefer": "respond-async"}
OTHER_KEY = "gateway-other-key-0123456789"


@pytest.fixture
async def client(
    make_settings: SettingsFactory, triton_server: TritonProcess, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    keys = tmp_path / "keys"
    keys.write_text(f"{hash_key(AUTH['X-API-Key'])}\n{hash_key(OTHER_KEY)}\n")
    settings = make_settings(
        triton_url=triton_server.http_url,
        api_key=None,
        api_keys_file=keys,
        webhook_allow_private=True,
        webhook_secret=WEBHOOK_SECRET,
        webhook_retry_schedule_s=(0.2, 0.2),
    )
    async with gateway(settings) as client:
        yield client


def parts(seed: int = 0) -> dict[str, tuple[str, bytes, str]]:
    return files(encode(noise(48, 40, seed)), encode(box_mask(48, 40)))


async def test_202_poll_result_is_the_sync_answer(client: httpx.AsyncClient) -> None:
    sync = await client.post(URL, headers=AUTH, files=parts())
    accepted = await client.post(URL, headers=ASYNC, files=parts())
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["location"]
    assert location == f"/api/v1/jobs/{accepted.json()['id']}"
    assert accepted.headers["preference-applied"] == "respond-async"
    assert accepted.json()["status"] in ("queued", "processing")
    job = await finished(client, location)
    assert job["status"] == "succeeded" and job["metrics"]["processing_seconds"] > 0
    result = await client.get(job["urls"]["result"], headers=AUTH)
    assert result.status_code == 200 and result.content == sync.content
    assert result.headers["content-type"] == sync.headers["content-type"]
    assert result.headers["x-inpaint-windows"] == sync.headers["x-inpaint-windows"]
    assert_error(await client.get(location, headers={"X-API-Key": OTHER_KEY}), 404)
    assert_error(await client.get(job["urls"]["result"], headers={"X-API-Key": OTHER_KEY}), 404)


async def test_wait_answers_like_the_sync_route(client: httpx.AsyncClient) -> None:
    sync = await client.post(URL, headers=AUTH, files=parts(1))
    waited = await client.post(URL, headers={**AUTH, "Prefer": "wait=30"}, files=parts(1))
    assert waited.status_code == 200 and waited.content == sync.content
    not_an_image = {"image": ("image.png", b"not an image", "image/png")}
    assert_error(
        await client.post(URL, headers={**AUTH, "Prefer": "wait=30"}, files=not_an_image), 400, "Invalid image format"
    )


async def test_mask_conveniences_and_detection_travel_with_the_job(client: httpx.AsyncClient) -> None:
    image = {"image": parts(2)["image"]}
    for data in ({"rectangles": "[[2, 2, 6, 6]]", "grow_mask": "2"}, {}):  # rectangles; detected
        sync = await client.post(URL, headers=AUTH, files=image, data=data)
        waited = await client.post(URL, headers={**AUTH, "Prefer": "wait=30"}, files=image, data=data)
        assert waited.status_code == 200 and waited.content == sync.content
        assert waited.headers["X-Mask-Source"] == sync.headers["X-Mask-Source"]


async def test_batch_job_zip_matches_the_sync_zip(client: httpx.AsyncClient) -> None:
    items = [("image", parts(i)["image"]) for i in range(3)] + [("mask", parts(i)["mask"]) for i in range(3)]
    sync = await client.post(f"{URL}/batch", headers=AUTH, files=items)
    accepted = await client.post(f"{URL}/batch", headers=ASYNC, files=items)
    job = await finished(client, accepted.headers["location"])
    result = await client.get(job["urls"]["result"], headers=AUTH)
    assert result.headers["content-type"] == "application/zip"
    ours, theirs = zipfile.ZipFile(io.BytesIO(result.content)), zipfile.ZipFile(io.BytesIO(sync.content))
    assert ours.namelist() == theirs.namelist()
    for name in ours.namelist():
        if name != "results.json":
            assert ours.read(name) == theirs.read(name)

    def untimed(archive: zipfile.ZipFile) -> list[dict]:
        return [
            {k: v for k, v in item.items() if k != "processing_time"}
            for item in json.loads(archive.read("results.json"))["items"]
        ]

    assert untimed(ours) == untimed(theirs)


async def test_webhook_form_fields_deliver_signed_events(client: httpx.AsyncClient, receiver: Receiver) -> None:  # noqa: F811
    form = {"webhook": receiver.url, "webhook_events": "start,completed"}
    accepted = await client.post(URL, headers=AUTH, files=parts(2), data=form)
    assert accepted.status_code == 202 and "preference-applied" not in accepted.headers
    job_id = accepted.json()["id"]
    await receiver.wait_for(2)
    events = [Webhook(WEBHOOK_SECRET).verify(body, headers) for headers, body in receiver.received]
    assert sorted(event["type"] for event in events) == ["job.started", "job.succeeded"]
    assert {event["data"]["id"] for event in events} == {job_id}


async def test_failing_receiver_is_retried_with_the_same_id(client: httpx.AsyncClient, receiver: Receiver) -> None:  # noqa: F811
    receiver.statuses = [500]
    await client.post(URL, headers=ASYNC, files=parts(3), data={"webhook": receiver.url})
    await receiver.wait_for(2)
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1
    for headers, body in receiver.received:
        Webhook(WEBHOOK_SECRET).verify(body, headers)


async def test_refused_webhooks_are_400(make_settings: SettingsFactory, triton_server: TritonProcess) -> None:
    async with gateway(make_settings(triton_url=triton_server.http_url)) as client:
        loopback = await client.post(URL, headers=ASYNC, files=parts(), data={"webhook": "http://127.0.0.1:9/x"})
        assert_error(loopback, 400, "loopback")
        bad_event = await client.post(
            URL, headers=ASYNC, files=parts(), data={"webhook": "https://example.com/x", "webhook_events": "done"}
        )
        assert_error(bad_event, 400, "webhook_events")


async def test_idempotent_submission_is_replayed_or_refused(client: httpx.AsyncClient) -> None:
    once = {**ASYNC, "Idempotency-Key": "submit-1"}
    first = await client.post(URL, headers=once, files=parts(4))
    again = await client.post(URL, headers=once, files=parts(4))
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert_error(await client.post(URL, headers=once, files=parts(5)), 422, "different request")
    listed = (await client.get("/api/v1/jobs", headers=AUTH)).json()["jobs"]
    assert [job["id"] for job in listed] == [first.json()["id"]]


async def test_cancel_a_queued_job(make_settings: SettingsFactory, triton_server: TritonProcess) -> None:
    """With the workers saturated by a batch, a job submitted after it is still queued."""
    settings = make_settings(triton_url=triton_server.http_url, jobs_concurrency=1)
    async with gateway(settings) as client:
        big = [("image", encode(noise(256, 256, i))) for i in range(8)] + [
            ("mask", encode(box_mask(256, 256))) for _ in range(8)
        ]
        await client.post(f"{URL}/batch", headers=ASYNC, files=big)
        queued = (await client.post(URL, headers=ASYNC, files=parts())).json()
        canceled = await client.post(queued["urls"]["cancel"], headers=AUTH)
        assert canceled.json()["status"] == "canceled"
        assert_error(await client.get(queued["urls"]["result"], headers=AUTH), 409, "canceled")
        assert_error(await client.post(queued["urls"]["cancel"], headers={"X-API-Key": "x" * 20}), 401)


def test_openapi_documents_async(make_settings: SettingsFactory) -> None:
    from lama_serve.gateway.app import create_app

    schema = create_app(make_settings()).openapi()
    operation = schema["paths"][URL]["post"]
    assert {"Location", "Preference-Applied"} <= set(operation["responses"]["202"]["headers"])
    assert {"prefer", "Idempotency-Key"} <= {p["name"] for p in operation["parameters"]}
    form = schema["components"]["schemas"][
        operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    ]
    assert {"webhook", "webhook_events", "image", "mask"} <= set(form["properties"])
    assert "/api/v1/jobs/{job_id}/result" in schema["paths"]
