"""Signing in and out, and the start page for each role."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backmice.errors import SignInRefused
from backmice.records.services import accounts
from backmice.web.app import templates
from backmice.web.deps import Principal, csrf, optional_principal, store
from backmice.web.security import COOKIE

router = APIRouter(include_in_schema=False)

_HOME = {"clinician": "/patients", "patient": "/me", "admin": "/admin/users"}


@router.get("/")
def home(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Response:
    """Each role's start page; the sign-in page when signed out."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(_HOME[principal.role], status_code=303)


#: Before anyone is signed in, the sign-in form is protected by a double-submit token:
#: a random value in a short-lived cookie that the form must echo (no login CSRF).
LOGIN_COOKIE = "backmice_login"


def _login_form(
    request: Request, error: str | None = None, username: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"error": error, "username": username, "login_token": token},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        secure=bool(request.app.state.secure_cookies),
        samesite="strict",
        max_age=3600,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return _login_form(request)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    login_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Check the password; on success a brand-new session replaces any old one."""
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, login_token):
        return _login_form(
            request, "the sign-in form expired: please try again", username, status=403
        )
    old = request.cookies.get(COOKIE)
    try:
        signed = store(request).run(
            lambda uow: accounts.sign_in(uow, username, password, replacing=old)
        )
    except SignInRefused as exc:
        return _login_form(request, str(exc), username, status=401)
    response = RedirectResponse(_HOME[signed.user.role], status_code=303)
    response.set_cookie(
        COOKIE,
        signed.token,
        httponly=True,
        secure=bool(request.app.state.secure_cookies),
        samesite="lax",
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, principal: Annotated[Principal, Depends(csrf)]) -> Response:
    store(request).run(lambda uow: accounts.end_session(uow, principal.token))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/health")
def health() -> dict[str, str]:
    """Bare liveness check: no database, no session."""
    return {"status": "ok"}
