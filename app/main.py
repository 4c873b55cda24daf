"""create_app(): settings, database, pipeline, routers and error handlers — nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.audit.group_commit import GroupCommitter
from app.db import Database, create_api_engine
from app.error_handlers import install_error_handlers
from app.migrations_runner import head_revision
from app.observability import RequestObserver, configure_logging
from app.openapi_info import API_DESCRIPTION, API_TITLE, API_VERSION, OPENAPI_TAGS
from app.pipeline import RequestPipeline
from app.routers import health
from app.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    database = Database(create_api_engine(settings))
    committer = GroupCommitter(database.engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await committer.close()
        await database.dispose()

    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.committer = committer
    app.state.head_revision = head_revision()

    install_error_handlers(app)
    app.include_router(health.router)
    app.add_middleware(
        RequestPipeline,
        database=database,
        committer=committer,
        max_body_bytes=settings.max_body_bytes,
        observer=RequestObserver(),
    )
    return app
