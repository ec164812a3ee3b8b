"""Read and drop the rest of a request body before answering it early.

The gateway answers some requests from their headers alone (401, 429: `guard.AuthGate`) or
stops reading a body past its limit (413: `middleware.BodySizeLimit`). Closing a connection
whose client is still uploading makes the kernel reset it, and the reset can destroy the
answer already sent: httpx, Node and browsers then report a connection error instead of the
JSON error (measured: a 2 MB upload over the rate limit, 29 of 30 httpx calls failed with
ReadError). So, as web servers linger on close, what keeps arriving promptly is read and
dropped (never parsed or stored), within a byte and time budget, and only then answered.
A client that sent `Expect: 100-continue` (curl, for bodies over 1 MB) has not sent its body
yet and waits for the answer: nothing to drain.
"""

from __future__ import annotations

import anyio
from starlette.datastructures import Headers
from starlette.types import Receive, Scope

BUDGET_FACTOR = 2  # bytes of a refused body read at most, per byte of the body limit
IDLE_S = 0.5  # a body that pauses this long is not on its way: answer now
TOTAL_S = 5.0  # longest a refused request is read for


async def drain_body(scope: Scope, receive: Receive, limit: int) -> None:
    """Read and drop the request body until its end, BUDGET_FACTOR x `limit` (the body limit)
    bytes, a pause of IDLE_S or TOTAL_S, whichever comes first; not at all when its
    Content-Length is over that budget (the connection closes mid-upload then, as it would
    anyway): a client sending a file a little too large still gets its 413."""
    budget = BUDGET_FACTOR * limit
    headers = Headers(scope=scope)
    declared = headers.get("content-length", "")
    if headers.get("expect", "").lower() == "100-continue" or (declared.isdigit() and int(declared) > budget):
        return
    drained = 0
    with anyio.move_on_after(TOTAL_S):
        while drained <= budget:
            with anyio.move_on_after(IDLE_S) as idle:
                message = await receive()
            if idle.cancelled_caught or message["type"] != "http.request" or not message.get("more_body", False):
                return  # paused, the whole body is in, or the client left
            drained += len(message.get("body", b""))
