"""Run the gateway under uvicorn with the connection limits from Settings, the one way both
`lama-serve up` and the gateway image start it (`python -m lama_serve.gateway.serve`)."""

from __future__ import annotations

import asyncio
import sys
from functools import partial
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from lama_serve.core.errors import ConfigurationError
from lama_serve.core.settings import Settings, get_settings

HEADER_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's line and headers.

    uvicorn's keep-alive timer restarts on every byte received, so a client that sends its
    headers a byte at a time holds a connection for ever, and `max_connections` such clients
    lock everyone else out. The deadline runs from the connection's start (and from each
    response's end) until a request's headers are complete; it does not restart on data."""

    def __init__(self, *args: Any, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout_s = header_timeout_s
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    @property
    def _request_in_flight(self) -> bool:
        """A request's headers have arrived and its response is not complete yet."""
        return self.cycle is not None and not self.cycle.response_complete

    def handle_events(self) -> None:
        super().handle_events()
        if self._request_in_flight:
            self._disarm_header_deadline()

    def on_response_complete(self) -> None:
        self._arm_header_deadline()  # the next request on this connection gets its own deadline
        super().on_response_complete()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self._header_timeout_s, self._header_timed_out)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_timed_out(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing() or self._request_in_flight:
            return
        self.logger.info("Closed a connection whose request headers took over %g s", self._header_timeout_s)
        self.transport.write(HEADER_TIMEOUT_RESPONSE)
        self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.Config keyword arguments: bind address, log level and connection limits (h11
    pinned: the header size and deadline are h11's, httptools would silently drop them)."""
    return {
        "host": settings.gateway_host,
        "port": settings.gateway_port,
        "log_level": settings.log_level,
        "http": partial(HeaderDeadlineProtocol, header_timeout_s=settings.header_read_timeout_s),
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "limit_concurrency": settings.max_connections,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "server_header": False,
    }


def main() -> None:
    """The gateway image's entry point: settings that cannot work end the process with the
    lines to fix and status 2 (as `lama-serve` does), not a traceback in the container log."""
    import uvicorn

    from lama_serve.gateway.app import create_app

    try:
        settings = get_settings()
        app = create_app(settings)
    except ConfigurationError as error:
        print(f"gateway: {error}", file=sys.stderr)
        raise SystemExit(error.exit_code) from None
    uvicorn.run(app, **uvicorn_options(settings))


if __name__ == "__main__":
    main()
