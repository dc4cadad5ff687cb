"""Building the application: database, engine, templates, routes, errors, headers."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from backmice import __version__
from backmice.config import Settings, load_settings
from backmice.engine import Engine
from backmice.engine.contract import DISCLAIMER, PLAIN_DISCLAIMER
from backmice.errors import (
    DatabaseBusy,
    InvalidInput,
    NotAllowed,
    Problem,
    RecordConflict,
    RecordNotFound,
)
from backmice.records.store import RecordStore
from backmice.web.deps import CSRF_FIELD, CsrfRejected, NotSignedIn
from backmice.web.security import SecurityHeaders

__all__ = ["create_app", "templates"]

log = logging.getLogger("backmice.web")

_HERE = Path(str(resources.files("backmice.web")))
templates = Jinja2Templates(directory=str(_HERE / "templates"))
templates.env.globals.update(
    disclaimer=DISCLAIMER,
    plain_disclaimer=PLAIN_DISCLAIMER,
    version=__version__,
    csrf_field=CSRF_FIELD,
)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _problems_json(problems: list[Problem], status: int) -> JSONResponse:
    return JSONResponse({"errors": [p.to_dict() for p in problems]}, status_code=status)


def _page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "title": title,
            "message": message,
            "principal": getattr(request.state, "principal", None),
        },
        status_code=status,
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _wants_json(request):
            return _problems_json([Problem("session", "sign in first")], 401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
        message = "the form's security token is missing or out of date: reload and try again"
        if _wants_json(request):
            return _problems_json([Problem("csrf_token", message)], 403)
        return _page(request, 403, "Form expired", message)

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed) -> Response:
        if _wants_json(request):
            return _problems_json([Problem("role", str(exc))], 403)
        return _page(request, 403, "Not available", str(exc))

    @app.exception_handler(RecordNotFound)
    async def not_found(request: Request, exc: RecordNotFound) -> Response:
        if _wants_json(request):
            return _problems_json([Problem("", str(exc))], 404)
        return _page(request, 404, "Not found", "That record does not exist or is not yours.")

    @app.exception_handler(RecordConflict)
    async def conflict(request: Request, exc: RecordConflict) -> Response:
        if _wants_json(request):
            return _problems_json([Problem("", str(exc))], 409)
        return _page(request, 409, "Already recorded", str(exc))

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> Response:
        if _wants_json(request):
            return _problems_json(list(exc.problems), 422)
        return _page(request, 422, "Please check", "; ".join(str(p) for p in exc.problems))

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            Problem(".".join(str(x) for x in e.get("loc", ()) if x != "body"), e.get("msg", ""))
            for e in exc.errors()
        ]
        if _wants_json(request):
            return _problems_json(problems, 422)
        return _page(request, 422, "Please check", "; ".join(str(p) for p in problems))

    @app.exception_handler(DatabaseBusy)
    async def busy(request: Request, exc: DatabaseBusy) -> Response:
        if _wants_json(request):
            return _problems_json([Problem("", "the database is busy: try again")], 503)
        return _page(request, 503, "Busy", "The database is busy. Please try again.")


def create_app(
    settings: Settings | None = None,
    *,
    secure_cookies: bool = True,
    store: RecordStore | None = None,
    long_lived: bool = False,
) -> FastAPI:
    """The application over the configured database (migrated at start-up).

    `secure_cookies=False` only for plain-http development behind nothing; browsers
    accept Secure cookies from http://127.0.0.1 and http://localhost.

    `long_lived=True` is for a server process that serves this one application until
    it exits (`backmice.web.server`): once started it moves everything built so far (the
    knowledge base, the routes, the ORM mappings: some 150,000 objects) out of the cyclic
    garbage collector's reach with `gc.freeze()`. Those objects live as long as the
    process anyway, and without this every full collection walks them all, pausing every
    request in flight for tens of milliseconds: the slowest 1 % of answers was mostly
    such pauses. Tests leave it off, as they build many applications in one process.
    """
    settings = settings or load_settings()
    opened = store or RecordStore.open(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if long_lived:
            gc.collect()  # what is garbage already is not kept for ever
            gc.freeze()
        yield
        if store is None:
            opened.close()

    app = FastAPI(
        title="backmice",
        version=__version__,
        summary="Decision support and clinic records for back mice (episacral lipoma).",
        description=DISCLAIMER,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        # FastAPI's own OpenTelemetry would export request spans with their paths (which
        # hold record ids) and log validation failures and exceptions with their
        # messages (which can hold record data) to any provider the environment sets
        # up: off, like uvicorn's access log. It also costs a provider look-up per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.store = opened
    # SQLite reads are in-process library calls: `deps` runs the session check inline
    app.state.reads_in_loop = opened.is_sqlite
    app.state.engine = Engine()
    app.state.settings = settings
    app.state.secure_cookies = secure_cookies
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    _install_error_handlers(app)

    from backmice.web import api, pages_admin, pages_auth, pages_clinician, pages_patient

    app.include_router(api.router)
    app.include_router(pages_auth.router)
    app.include_router(pages_clinician.router)
    from backmice.web import pages_assess, pages_care, pages_reports

    app.include_router(pages_assess.router)
    app.include_router(pages_care.router)
    app.include_router(pages_reports.router)
    app.include_router(pages_patient.router)
    app.include_router(pages_admin.router)

    app.add_middleware(SecurityHeaders, https=secure_cookies)
    return app
