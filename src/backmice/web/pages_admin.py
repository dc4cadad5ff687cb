"""Administrator pages: the accounts of the admin's own clinic.

An admin creates, deactivates and reactivates accounts and never sees a clinical record
(the clinical pages refuse the role in `deps`). Passwords are set here once, must meet
the minimum length, and are never shown again or echoed back into a form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backmice.errors import InvalidRecord, Problem, RecordConflict
from backmice.records import domain
from backmice.records.services import accounts
from backmice.web.app import templates
from backmice.web.deps import Principal, admin, csrf, store

router = APIRouter(include_in_schema=False)

Admin = Annotated[Principal, Depends(admin)]
Checked = Annotated[Principal, Depends(csrf)]

_FLASH = {
    "created": "The account was created.",
    "deactivated": "The account was deactivated and signed out everywhere.",
    "activated": "The account was reactivated.",
}


def _users_page(
    request: Request,
    principal: Principal,
    *,
    problems: Sequence[Problem] = (),
    form: dict[str, str] | None = None,
    done: str = "",
) -> Response:
    users = store(request).run(
        lambda uow: accounts.list_users(uow, principal.actor, principal.user.clinic)
    )
    response = templates.TemplateResponse(
        request,
        "admin_users.html",
        {
            "principal": principal,
            "nav": "users",
            "users": users,
            "roles": domain.ROLES,
            "problems": list(problems),
            "wrong": {p.field for p in problems},
            "form": form or {"role": "clinician"},
            "flash": _FLASH.get(done, ""),
            "min_password": accounts.MIN_PASSWORD_LENGTH,
        },
    )
    if problems:
        response.status_code = 422
    return response


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, principal: Admin, done: str = "") -> Response:
    """The accounts of this clinic: username, name, role, active (no clinical data)."""
    return _users_page(request, principal, done=done)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    principal: Checked,
    _: Admin,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    patient_identifier: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Create a clinician, patient or admin account in this clinic."""
    form: dict[str, Any] = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "patient_identifier": patient_identifier,
    }  # never the password
    try:
        store(request).run(
            lambda uow: accounts.create_clinic_user(
                uow,
                principal.actor,
                clinic=principal.user.clinic,
                username=username,
                display_name=display_name,
                role=role,
                password=password,
                patient_identifier=patient_identifier,
            )
        )
    except InvalidRecord as exc:
        return _users_page(request, principal, problems=exc.problems, form=form)
    except RecordConflict as exc:
        return _users_page(request, principal, problems=[Problem("", str(exc))], form=form)
    return RedirectResponse("/admin/users?done=created", status_code=303)


def _set_active(request: Request, principal: Principal, user_id: str, active: bool) -> Response:
    try:
        store(request).run(
            lambda uow: accounts.set_active(
                uow,
                principal.actor,
                user_id,
                active,
                clinic=principal.user.clinic,
                by_user_id=principal.user.id,
            )
        )
    except InvalidRecord as exc:
        return _users_page(request, principal, problems=exc.problems)
    done = "activated" if active else "deactivated"
    return RedirectResponse(f"/admin/users?done={done}", status_code=303)


@router.post("/admin/users/{user_id}/deactivate", response_class=HTMLResponse)
def deactivate(request: Request, user_id: str, principal: Checked, _: Admin) -> Response:
    """Deactivate an account of this clinic; its sessions end at once."""
    return _set_active(request, principal, user_id, active=False)


@router.post("/admin/users/{user_id}/activate", response_class=HTMLResponse)
def activate(request: Request, user_id: str, principal: Checked, _: Admin) -> Response:
    """Let a deactivated account of this clinic sign in again."""
    return _set_active(request, principal, user_id, active=True)
