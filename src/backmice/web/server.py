"""The application object uvicorn imports (`backmice.web.server:app`), built from the
environment's settings: one per worker process."""

from __future__ import annotations

from backmice.web.app import create_app

app = create_app(long_lived=True)
