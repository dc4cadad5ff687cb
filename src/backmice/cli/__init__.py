"""The `backmice` command: thin commands over the library.

Exit codes: 0 done; 1 internal error (reported without a traceback); 2 invalid
input or usage; 3 a batch in which at least one line was invalid.
"""

from __future__ import annotations

import os
import sys

import typer

from backmice.cli import assess, care, interview, knowledge, records, web
from backmice.errors import BackmiceError, InvalidInput, KnowledgeBaseError

__all__ = ["EXIT_BATCH_INVALID", "EXIT_INTERNAL", "EXIT_INVALID", "app", "main"]

EXIT_INTERNAL = 1
EXIT_INVALID = 2
EXIT_BATCH_INVALID = 3

app = typer.Typer(
    name="backmice",
    help=(
        "Decision support for back mice (episacral lipoma) and the low-back lumps and "
        "focal pains they are confused with. It supports, and does not replace, a "
        "clinician's judgement."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("assess")(assess.assess_command)
app.command("interview")(interview.interview_command)
app.add_typer(knowledge.app, name="knowledge")
app.add_typer(records.db_app, name="db")
app.add_typer(records.patient_app, name="patient")
app.command("demo")(records.demo_command)
app.command("backup")(records.backup_command)
app.command("restore")(records.restore_command)
app.command("export")(records.export_command)
app.command("import")(records.import_command)
app.command("audit")(records.audit_command)
app.add_typer(care.nodule_app, name="nodule")
app.command("score")(care.score_command)
app.command("outcomes")(care.outcomes_command)
app.command("treatment")(care.treatment_command)
app.command("injection")(care.injection_command)
app.command("plan")(care.plan_command)
app.command("due")(care.due_command)
app.command("report")(care.report_command)
app.command("handout")(care.handout_command)
app.command("serve")(web.serve_command)
app.command("setup")(web.setup_command)
app.add_typer(web.user_app, name="user")


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        from backmice import __version__
        from backmice.knowledge import default_knowledge

        typer.echo(f"backmice {__version__}, knowledge base {default_knowledge().version}")
        raise typer.Exit(0)


def main() -> None:
    """Console entry point: run the app, turning every error into a message and a code.

    Click handles its own usage errors (exit 2); everything backmice raises is turned
    into one line per problem here, and anything unexpected into a short message
    without a traceback.
    """
    try:
        app()
    except InvalidInput as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        sys.exit(EXIT_INVALID)
    except KnowledgeBaseError as exc:
        typer.echo(f"knowledge base error: {exc}", err=True)
        sys.exit(EXIT_INTERNAL)
    except BackmiceError as exc:
        typer.echo(str(exc), err=True)
        sys.exit(EXIT_INVALID)
    except BrokenPipeError:
        sys.exit(EXIT_INTERNAL)  # the reader went away: nothing left to tell anyone
    except Exception as exc:
        if os.environ.get("BACKMICE_DEBUG"):
            raise
        # the type only: an exception's text can hold record data, which stays out of
        # messages and logs; database changes are rolled back by their transaction
        typer.echo(
            f"internal error ({type(exc).__name__}). Set BACKMICE_DEBUG=1 to see the details.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
