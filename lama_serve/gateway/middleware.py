"""ASGI middleware: request body cap while streaming, and headers every response carries."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lama_serve.gateway.drain import drain_body
from lama_serve.gateway.errors import PayloadTooLarge
from lama_serve.gateway.headers import SECURITY_HEADERS

# request.state key under which auth leaves the `X-RateLimit-*` headers of the caller.
RATE_LIMIT_STATE = "rate_limit_headers"


class BodySizeLimit:
    """413 as soon as Content-Length, or the bytes actually received, pass `max_bytes`.

    The error is raised from `receive`, i.e. inside the body parser, so nothing past the
    limit is parsed or buffered (what is still arriving is read and dropped first,
    drain.drain_body); `PayloadTooLarge` then takes the normal error path.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, hint: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.hint = hint

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"Request body over {self.max_bytes} bytes; {self.hint}.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        declared_too_large = declared.isdigit() and int(declared) > self.max_bytes
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared_too_large:
                await drain_body(scope, receive, self.max_bytes)
                raise self._too_large()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if message.get("more_body", False):
                        await drain_body(scope, receive, self.max_bytes)
                    raise self._too_large()
            return message

        await self.app(scope, limited_receive, send)


class ResponseHeaders:
    """Security headers on every response, rate-limit headers on authenticated ones
    (success and error alike), without overriding what a handler already set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                extra = {**SECURITY_HEADERS, **scope.get("state", {}).get(RATE_LIMIT_STATE, {})}
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
