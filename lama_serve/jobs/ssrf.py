"""SSRF guard for webhook URLs: resolve the host and refuse internal address ranges.

Checked when a job is submitted (400) and again before every delivery, since DNS can
answer differently later (rebinding)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from lama_serve.jobs.errors import WebhookRefused

_HINT = "use a public http(s) URL (or set WEBHOOK_ALLOW_PRIVATE=true on a closed network)"


def refused_reason(address: str) -> str | None:
    """Why an IP address is not a webhook target, or None when it may be."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for reason, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return reason
    return None


def split_url(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL, or WebhookRefused saying what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookRefused(f"webhook URL {url!r} is malformed ({exc}); {_HINT}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused(f"webhook URL {url!r} must be http(s)://host/...; {_HINT}")
    if parts.username or parts.password:
        raise WebhookRefused(f"webhook URL must not carry credentials; {_HINT}")
    return parts.hostname, port


async def check_url(url: str, allow_private: bool) -> None:
    """Raise WebhookRefused unless every address the host resolves to may be called."""
    host, port = split_url(url)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookRefused(f"webhook host {host!r} does not resolve ({exc}); {_HINT}") from None
    for *_, sockaddr in infos:
        reason = refused_reason(str(sockaddr[0]))
        if reason:
            raise WebhookRefused(f"webhook host {host!r} resolves to {reason} address {sockaddr[0]}; {_HINT}")
