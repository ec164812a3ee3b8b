"""Run the gateway under uvicorn with the connection limits from Settings, the one way both
`lama-serve up` and the gateway image start it (`python -m lama_serve.gateway.serve`)."""

from __future__ import annotations

from typing import Any

from lama_serve.core.settings import Settings, get_settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.Config keyword arguments: bind address, log level and connection limits."""
    return {
        "host": settings.gateway_host,
        "port": settings.gateway_port,
        "log_level": settings.log_level,
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "limit_concurrency": settings.max_connections,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "server_header": False,
    }


def main() -> None:
    import uvicorn

    from lama_serve.gateway.app import create_app

    settings = get_settings()
    uvicorn.run(create_app(settings), **uvicorn_options(settings))


if __name__ == "__main__":
    main()
