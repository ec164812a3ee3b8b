"""CancelOnDisconnect on plain ASGI callables: the client leaving cancels the app, unless
the request carries an Idempotency-Key (its result is kept for the retry)."""

from __future__ import annotations

import anyio
import pytest
from starlette.types import Message, Receive, Scope, Send

from lama_serve.gateway.disconnect import CancelOnDisconnect

pytestmark = pytest.mark.anyio


def client_that_leaves() -> Receive:
    messages = iter([{"type": "http.request", "body": b"image", "more_body": False}, {"type": "http.disconnect"}])

    async def receive() -> Message:
        await anyio.sleep(0.05)
        return next(messages)

    return receive


async def ignore(_: Message) -> None:
    pass


def slow_app(events: list[str]) -> object:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        events.append((await receive())["body"].decode())
        try:
            await anyio.sleep(2)  # the model call
            events.append("computed")
        except anyio.get_cancelled_exc_class():
            events.append("cancelled")
            raise

    return app


@pytest.mark.parametrize(("headers", "outcome"), [([], "cancelled"), ([(b"idempotency-key", b"k1")], "computed")])
async def test_a_client_that_leaves_cancels_its_request(headers: list, outcome: str) -> None:
    events: list[str] = []
    with anyio.fail_after(5):
        await CancelOnDisconnect(slow_app(events))({"type": "http", "headers": headers}, client_that_leaves(), ignore)
    assert events == ["image", outcome]
