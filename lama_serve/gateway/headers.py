"""Security headers every response carries.

Shared by `middleware.ResponseHeaders` and the 500 handler in `errors`: Starlette answers
unhandled exceptions from its outermost layer, outside every middleware, so the handler
must set them itself.
"""

from __future__ import annotations

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}
