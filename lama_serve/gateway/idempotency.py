"""`Idempotency-Key` on any POST: the first response is stored per API key and replayed.

A pure ASGI middleware inside the body-size limit, so every POST route gets it without a
line of its own. The owner is the key id of X-API-Key; a response the caller cannot have
meant to keep (401, 429, 5xx) is not stored, so a retry runs again.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lama_serve.gateway.auth import key_id
from lama_serve.gateway.errors import error_response, job_api_error
from lama_serve.jobs.errors import JobError
from lama_serve.jobs.idempotency import StoredResponse, fingerprint

HEADER = b"idempotency-key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_NOT_STORED = (401, 429)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":  # lifespan, websockets, GETs
            await self.app(scope, receive, send)
            return
        key, api_key = _header(scope, HEADER), _header(scope, b"x-api-key")
        jobs = scope["app"].state.services.jobs if key and api_key else None
        if jobs is None or key is None or api_key is None:
            await self.app(scope, receive, send)
            return
        if len(key) > MAX_KEY_LENGTH:
            await error_response(400, f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters")(
                scope, receive, send
            )
            return
        body = await _read_body(receive)
        owner = key_id(api_key)
        try:
            stored = await jobs.idempotency.begin(
                owner, key, fingerprint("POST", scope["path"], canonical_body(_header(scope, b"content-type"), body))
            )
        except JobError as exc:
            error = job_api_error(exc)
            await error_response(error.status_code, str(error.detail))(scope, receive, send)
            return
        if stored is not None:
            await _replay(stored, send)
            return
        captured = StoredResponse(0)

        async def replay_body() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]]
            elif message["type"] == "http.response.body":
                captured.body += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            if captured.status and captured.status < 500 and captured.status not in _NOT_STORED:
                await jobs.idempotency.complete(owner, key, captured)
            else:
                await jobs.idempotency.abandon(owner, key)


def canonical_body(content_type: str | None, body: bytes) -> bytes:
    """The body without its multipart boundary: clients pick a random boundary per request,
    so the same form sent twice differs only there (a boundary never occurs in the content)."""
    media, _, params = (content_type or "").partition(";")
    if media.strip().lower() != "multipart/form-data":
        return body
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value.strip('"'):
            return body.replace(value.strip('"').encode("latin-1"), b"")
    return body


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _replay(stored: StoredResponse, send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    headers.append((REPLAYED.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
