"""Errors in OpenAI's JSON shape, so OpenAI clients raise their usual exceptions."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from yuyin.errors import YuyinError

__all__ = ["ApiError", "error_body", "install_error_handlers"]

_TYPES = {401: "authentication_error", 404: "invalid_request_error", 429: "rate_limit_error"}


class ApiError(Exception):
    """An HTTP error with an OpenAI-style `code` and optional headers (e.g. Retry-After)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


def error_body(status: int, message: str, code: str | None, param: str | None) -> dict[str, Any]:
    """The body OpenAI's API returns for an error."""
    kind = _TYPES.get(status, "invalid_request_error" if status < 500 else "server_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def install_error_handlers(app: FastAPI) -> None:
    """Answer every failure in OpenAI's error shape; never leak a traceback."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        body = error_body(exc.status, exc.message, exc.code, exc.param)
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(YuyinError)
    async def _yuyin(_: Request, exc: YuyinError) -> JSONResponse:
        message = f"{exc.message}. {exc.hint}" if exc.hint else exc.message
        code = type(exc).__name__
        return JSONResponse(
            error_body(exc.http_status, message, code, None), status_code=exc.http_status
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        message = f"{first.get('msg', 'invalid request')}" + (f": {param}" if param else "")
        return JSONResponse(error_body(400, message, "invalid_request", param), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(exc.status_code, str(exc.detail), None, None),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
