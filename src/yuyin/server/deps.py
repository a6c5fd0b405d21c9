"""Request dependencies shared by routers."""

from __future__ import annotations

import hmac

from fastapi import Request

from yuyin.server.errors import ApiError

__all__ = ["require_api_key"]


async def require_api_key(request: Request) -> None:
    """Check `Authorization: Bearer KEY` in constant time when the server has a key."""
    key = request.app.state.settings.api_key
    if key is None:
        return
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    expected = key.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise ApiError(
            401,
            "missing or wrong API key: send `Authorization: Bearer <key>`",
            code="invalid_api_key",
        )
