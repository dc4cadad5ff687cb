"""Security headers on every response, and the session cookie's name.

The content security policy allows scripts, styles and images only from this server
(no inline script or style), no framing, and forms posting only back to it. Written as
a plain ASGI middleware: it only adds headers, so it costs next to nothing per request.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["COOKIE", "CSP", "SecurityHeaders"]

log = logging.getLogger("backmice.web")

_API_500 = b'{"errors":[{"field":"","message":"internal error"}]}'
_PAGE_500 = (
    b'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Something went '
    b'wrong</title><link rel="stylesheet" href="/static/app.css"></head><body><main>'
    b"<h1>Something went wrong</h1><p>Nothing was changed by this request.</p>"
    b'<p><a href="/">Back to the start page</a></p></main></body></html>'
)

#: The session cookie: HttpOnly, Secure, SameSite=Lax; its value is an opaque token.
COOKIE = "backmice_session"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_NO_STORE = (b"cache-control", b"no-store")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeaders:
    """Adds the headers above to every HTTP response; anything but static files is
    marked `no-store` (pages and API answers may hold patient data)."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if static or k.lower() != b"cache-control"
                ]
                headers.extend(_HEADERS)
                if self.https:
                    headers.append(_HSTS)
                if not static:
                    headers.append(_NO_STORE)
                message["headers"] = headers
            await send(message)

        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await with_headers(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            # Starlette answers unhandled errors from its outermost middleware, past this
            # one, so the 500 is answered here instead: with these headers, and with
            # nothing of the exception's text (which can hold record data)
            if started:
                raise
            log.error("internal error %s on %s", type(exc).__name__, scope.get("route"))
            api = str(scope.get("path", "")).startswith("/api/")
            body = _API_500 if api else _PAGE_500
            kind = b"application/json" if api else b"text/html; charset=utf-8"
            await with_headers(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", kind),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
