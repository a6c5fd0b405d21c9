"""`GET /v1/models`: what this server can transcribe with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from yuyin.server.deps import require_api_key
from yuyin.server.errors import ApiError
from yuyin.server.models import OPENAI_MODEL_ALIASES

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["models"], dependencies=[Depends(require_api_key)])


def _entry(name: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "yuyin"}


def _names(request: Request) -> list[str]:
    return [*OPENAI_MODEL_ALIASES, *request.app.state.models.available()]


@router.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    """All model ids accepted by the audio endpoints."""
    created = request.app.state.created
    return {"object": "list", "data": [_entry(n, created) for n in _names(request)]}


@router.get("/models/{model_id:path}")
async def get_model(model_id: str, request: Request) -> dict[str, Any]:
    """One model id, or 404."""
    if model_id not in _names(request):
        raise ApiError(404, f"model {model_id!r} is not available", code="model_not_found")
    return _entry(model_id, request.app.state.created)
