"""`backmice knowledge`: what the engine knows - conditions, findings, rules, sources."""

from __future__ import annotations

import typer
from rich.table import Table

from backmice.cli.render import console
from backmice.knowledge import default_knowledge

__all__ = ["app"]

app = typer.Typer(
    help="List the knowledge base: conditions, findings, red-flag rules and sources.",
    no_args_is_help=False,
)


@app.callback(invoke_without_command=True)
def summary(ctx: typer.Context) -> None:
    """Summary of the knowledge base (run a subcommand for a full list)."""
    if ctx.invoked_subcommand is not None:
        return
    kb = default_knowledge()
    cells = [d for dists in kb.likelihoods.values() for d in dists]
    published = sum(1 for d in cells if d.basis == "published")
    out = console()
    out.print(f"[bold]{kb.title}[/]")
    out.print(f"version {kb.version}, released {kb.released}")
    out.print(
        f"{len(kb.conditions)} conditions, {len(kb.findings)} findings, "
        f"{len(kb.red_flags)} red-flag rules, {len(kb.references)} sources"
    )
    out.print(
        f"{len(cells)} likelihood cells: {published} published, {len(cells) - published} estimates"
    )
    out.print(f"Model: {kb.model}")
    out.print("Subcommands: conditions, findings, rules, sources.")


@app.command()
def conditions() -> None:
    """The 15 conditions with codes and the triage level each implies."""
    kb = default_knowledge()
    table = Table(title=f"Conditions (knowledge base {kb.version})")
    table.add_column("id", no_wrap=True)
    for col in ("name", "ICD-10-CM", "SNOMED CT", "triage when likely"):
        table.add_column(col)
    for c in kb.conditions:
        table.add_row(
            c.id,
            c.name,
            c.icd10cm[0] if c.icd10cm else "none",
            c.snomed[0] if c.snomed else "none",
            f"{c.triage} (p >= {c.triage_threshold.p:g})",
        )
    console().print(table)


@app.command()
def findings() -> None:
    """Every finding the assessment format accepts, with its states or bins."""
    kb = default_knowledge()
    table = Table(title=f"Findings (knowledge base {kb.version})")
    table.add_column("id", no_wrap=True)
    for col in ("type", "states / bins", "question"):
        table.add_column(col)
    for f in kb.findings:
        table.add_row(f.id, f.type, ", ".join(f.states), f.question)
    console().print(table)


@app.command()
def rules() -> None:
    """The red-flag rules: severity, findings used, message and guideline sources."""
    kb = default_knowledge()
    table = Table(title=f"Red-flag rules (knowledge base {kb.version})", show_lines=True)
    table.add_column("id", no_wrap=True)
    for col in ("severity", "findings", "message", "sources"):
        table.add_column(col)
    for r in kb.red_flags:
        table.add_row(r.id, r.severity, ", ".join(r.findings), r.message, ", ".join(r.sources))
    console().print(table)


@app.command()
def sources() -> None:
    """Every reference the knowledge base cites, with PMID or DOI where one exists."""
    kb = default_knowledge()
    out = console()
    for ref in kb.references.values():
        out.print(f"[bold]{ref.id}[/]: {ref.short()} [dim](read: {ref.read})[/]")
