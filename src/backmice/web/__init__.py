"""The web application: server-rendered pages for clinicians and patients, and a JSON
API under /api/v1, both calling the same record services.

    from backmice.web import create_app
    app = create_app()            # BACKMICE_DATABASE_URL, or the SQLite default

App processes keep no state of their own (sessions, lock-outs and records live in the
database), so several workers can serve one clinic behind a proxy.
"""

from __future__ import annotations

from backmice.web.app import create_app

__all__ = ["create_app"]
