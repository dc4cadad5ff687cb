"""`backmice serve` (the web application) and `backmice user add` (accounts)."""

from __future__ import annotations

import functools
import getpass
import logging
import sys
from typing import Annotated

import typer

from backmice.cli.records import actor, open_store
from backmice.errors import InvalidInput, Problem
from backmice.records.services import accounts
from backmice.records.unit_of_work import AbstractUnitOfWork

__all__ = ["serve_command", "setup_command", "user_app"]

user_app = typer.Typer(help="Accounts for the web application.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise InvalidInput(
            [Problem("password", "no terminal to ask on: pipe it with --password-stdin")]
        )
    first = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("Again: ") != first:
        raise InvalidInput([Problem("password", "the two entries differ")])
    return first


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Option(help="The name to sign in with.")],
    role: Annotated[str, typer.Option(help="admin, clinician or patient.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    patient: Annotated[
        str | None, typer.Option("--patient", metavar="ID", help="For a patient account.")
    ] = None,
    clinic: Annotated[str, typer.Option(help="The clinic (clinicians, admins).")] = "main",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account; the password is asked for (never a default one)."""
    password = _password(password_stdin)
    store = open_store()
    try:
        user = store.run(
            lambda uow: accounts.create_user(
                uow,
                actor(),
                username=username,
                display_name=name or username,
                role=role,
                password=password,
                patient_id=patient,
                clinic=clinic,
            )
        )
    finally:
        store.close()
    typer.echo(f"created {user.role} account {user.username} ({user.id})")


def _ask(prompt: str) -> str:
    answer = input(prompt).strip()
    if not answer:
        raise InvalidInput([Problem("username", "'' is empty; a name is needed")])
    return answer


def _first_account(name: str, role: str, password: str, uow: AbstractUnitOfWork) -> None:
    accounts.create_user(
        uow, actor(), username=name, display_name=name, role=role, password=password
    )


def setup_command(
    demo: Annotated[
        int, typer.Option(min=0, max=100_000, help="Demo patients to load into an empty record.")
    ] = 0,
) -> None:
    """First run: create the first accounts (asking for their passwords; there is never a
    default one), and optionally load a synthetic demo cohort into an empty database."""
    store = open_store()
    try:
        if not store.run(accounts.has_accounts):
            if not sys.stdin.isatty():
                typer.echo(
                    "no accounts yet: create one with\n"
                    "  backmice user add --role admin --username NAME --password-stdin"
                )
            else:
                typer.echo("First run: create the administrator account.")
                admin_name = _ask("Administrator username: ")
                admin_password = _password(False)
                typer.echo("And a clinician account to use the clinic pages.")
                clinician_name = _ask("Clinician username: ")
                clinician_password = _password(False)
                for name, role, password in (
                    (admin_name, "admin", admin_password),
                    (clinician_name, "clinician", clinician_password),
                ):
                    store.run(functools.partial(_first_account, name, role, password))
                    typer.echo(f"created {role} account {name}")
        if demo:
            from backmice.records.demo import generate_cohort

            if not store.run(lambda uow: uow.patients.search("", 1, 0)[0]):
                typer.echo(f"loading {demo} synthetic demo patients (clearly fake people)...")
                generate_cohort(store, demo, seed=0, actor=actor())
    finally:
        store.close()


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    demo: Annotated[
        int,
        typer.Option(
            help="First load a synthetic demo cohort of N patients if the database is empty."
        ),
    ] = 0,
) -> None:
    """Serve the web application (uvicorn) on http://HOST:PORT."""
    import uvicorn

    if demo:
        from backmice.records.demo import generate_cohort

        store = open_store()
        try:
            empty = store.run(lambda uow: not uow.patients.search("", 1, 0)[0])
            if empty:
                generate_cohort(store, demo, seed=0, actor=actor())
        finally:
            store.close()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    typer.echo(f"backmice on http://{host}:{port}  (Ctrl-C stops)")
    uvicorn.run(
        "backmice.web.server:app",
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # request lines carry ids and search text: never logged
        # the C parser (a dependency), not the pure-Python h11 that uvicorn falls back to
        # without it: h11 was about an eighth of an assessment call's server time
        http="httptools",
        log_level="warning",
        proxy_headers=True,
    )
