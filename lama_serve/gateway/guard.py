"""Cheap rejection, before a request costs anything: the key (and its rate limit) is checked
from the headers before the body is parsed (what is still arriving is read and dropped:
gateway.drain), anonymous failures are rate limited per client address, and a body that
stops arriving (a lying Content-Length, a slow client) ends in 408 after BODY_READ_TIMEOUT_S.

Pure ASGI, in front of the routes: FastAPI dependencies run only after the multipart body
has been read and spooled, which is what made a 20 MB anonymous upload expensive.
"""

from __future__ import annotations

import anyio
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lama_serve.gateway.auth import KeyStore
from lama_serve.gateway.drain import drain_body
from lama_serve.gateway.errors import ApiError, RateLimited, RequestTimeout, Unauthorized, error_response
from lama_serve.gateway.middleware import RATE_LIMIT_STATE
from lama_serve.gateway.ratelimit import TokenBucketLimiter, raise_if_limited

# request.state key holding the authenticated caller's key id (read by deps.authenticate).
AUTH_STATE = "api_key_id"


class AuthGate:
    """401/429 from the headers alone, the body read and dropped (drain.drain_body: a close
    mid-upload can lose the answer), never parsed; the connection is then closed."""

    def __init__(
        self,
        app: ASGIApp,
        routes: frozenset[tuple[str, str]],
        keys: KeyStore,
        limiter: TokenBucketLimiter,
        anonymous: TokenBucketLimiter,
        max_body_bytes: int,
    ) -> None:
        """`routes`: (method, path) of the routes that need a key; `limiter`: per key; `anonymous`: failed
        authentications per client address; `max_body_bytes`: the body limit (drain.drain_body)."""
        self.app, self._routes, self._keys = app, routes, keys
        self._limiter, self._anonymous, self._max_body_bytes = limiter, anonymous, max_body_bytes

    def _caller(self, scope: Scope) -> str:
        try:
            caller = self._keys.authenticate(Headers(scope=scope).get("x-api-key"))
        except Unauthorized:
            address = (scope.get("client") or ("unknown", 0))[0]
            if self._anonymous.enabled and self._anonymous.acquire(f"ip:{address}").retry_after:
                raise RateLimited(
                    "Too many requests without a valid API key from this address; send a valid X-API-Key."
                ) from None
            raise
        if self._limiter.enabled:
            state = self._limiter.acquire(caller)
            scope.setdefault("state", {})[RATE_LIMIT_STATE] = state.headers()
            raise_if_limited(state)
        return caller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) not in self._routes:
            await self.app(scope, receive, send)
            return
        try:
            scope.setdefault("state", {})[AUTH_STATE] = self._caller(scope)
        except ApiError as error:
            await drain_body(scope, receive, self._max_body_bytes)
            headers = {**(error.headers or {}), "Connection": "close"}
            await error_response(error.status_code, str(error.detail), headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyReadTimeout:
    """408 when the next piece of the body does not arrive within `timeout_s`."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app, self._timeout_s = app, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def timed_receive() -> Message:
            try:
                with anyio.fail_after(self._timeout_s):
                    return await receive()
            except TimeoutError:
                raise RequestTimeout(
                    f"The request body stopped arriving for {self._timeout_s:g} s (is Content-Length "
                    "right?); send the whole body.",
                    headers={"Connection": "close"},
                ) from None

        await self.app(scope, timed_receive, send)
