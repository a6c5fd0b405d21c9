"""`create_app(settings)`: the FastAPI application with its routers, limits and lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from yuyin import __version__
from yuyin.server.errors import install_error_handlers
from yuyin.server.limits import Admission
from yuyin.server.metrics import Metrics
from yuyin.server.models import ModelManager
from yuyin.server.routers import audio as audio_routes
from yuyin.server.routers import health as health_routes
from yuyin.server.routers import live as live_routes
from yuyin.server.routers import models as model_routes
from yuyin.server.routers import web as web_routes
from yuyin.settings import Settings

__all__ = ["create_app"]

access_log = logging.getLogger("yuyin.access")
log = logging.getLogger(__name__)


async def _unload_idle_models(app: FastAPI) -> None:
    period = max(1.0, min(60.0, app.state.settings.model_ttl_s / 4 or 60.0))
    while True:
        await asyncio.sleep(period)
        for name in app.state.models.unload_idle():
            log.info("unloaded idle model %s", name)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app.state
    for name in state.settings.preload:
        log.info("preloading model %s", name)
        await asyncio.to_thread(state.models.get, name)
    state.started = True
    reaper = asyncio.create_task(_unload_idle_models(app))
    try:
        yield
    finally:
        reaper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reaper
        shutil.rmtree(state.upload_root, ignore_errors=True)


def create_app(settings: Settings | None = None, *, models: ModelManager | None = None) -> FastAPI:
    """Build the server: OpenAI-compatible audio API, models, health, readiness, metrics.

    Args:
        settings: the configuration (default: from `YUYIN_*` environment variables).
        models: a model manager to share (default: a new one for these settings).
    """
    settings = settings or Settings()
    app = FastAPI(
        title="yuyin",
        version=__version__,
        description="Speech to text with Whisper: an OpenAI-compatible API.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.models = models or ModelManager(settings)
    app.state.admission = Admission(settings.max_concurrency, settings.max_queue)
    app.state.metrics = Metrics()
    app.state.started = False
    app.state.created = int(time.time())
    # A private folder per app: uploads never land anywhere a request could name.
    app.state.upload_root = tempfile.mkdtemp(prefix="yuyin-server-")

    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    @app.middleware("http")
    async def _access_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            app.state.metrics.requests.labels(path, str(status)).inc()
            access_log.info(
                json.dumps(
                    {
                        "method": request.method,
                        "path": request.url.path,
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                        "client": request.client.host if request.client else None,
                    }
                )
            )

    app.include_router(health_routes.router)
    app.include_router(model_routes.router)
    app.include_router(audio_routes.router)
    app.include_router(web_routes.router)
    app.include_router(live_routes.router)
    app.mount("/static", StaticFiles(directory=str(web_routes.WEB_ROOT)), name="static")
    return app
