"""Readable terminal output of a result (`--format text`) with Rich."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

__all__ = ["TRIAGE_STYLE", "console", "differential_table", "render_plain_result", "render_result"]

TRIAGE_STYLE = {
    "emergency": "bold white on red",
    "urgent": "bold red",
    "soon": "bold yellow",
    "routine": "bold green",
    "self_care": "bold cyan",
}
PLAIN_TRIAGE_WORDS = {
    "emergency": "Go to an emergency department or call an emergency number now.",
    "urgent": "See a doctor within a day or two.",
    "soon": "Book an appointment to be seen within 2 weeks.",
    "routine": "Book an ordinary appointment with your doctor or physiotherapist.",
    "self_care": (
        "You can look after this at home for now; get checked if it changes or worries you."
    ),
}
TRIAGE_WORDS = {
    "emergency": "EMERGENCY - go to an emergency department now",
    "urgent": "URGENT - be seen within 24-48 hours",
    "soon": "SOON - be seen within 2 weeks",
    "routine": "ROUTINE - book an ordinary appointment",
    "self_care": "SELF-CARE - manage at home, with advice on when to get checked",
}


def console() -> Console:
    """A console on standard output (plain text when piped)."""
    return Console(highlight=False, soft_wrap=False)


def _evidence_text(items: list[Mapping[str, Any]], limit: int = 3) -> str:
    parts = []
    for item in items[:limit]:
        value = item["value"]
        shown = "yes" if value is True else "no" if value is False else str(value)
        basis = "estimate" if item.get("basis") == "estimate" else "published"
        parts.append(f"{item['finding']}={shown}: LR {item['likelihood_ratio']:.2g} ({basis})")
    return "\n".join(parts)


#: The text table shows conditions at or above this probability (and at least five).
SHOWN_ABOVE = 0.01


def differential_table(result: Mapping[str, Any], rows: int = 15) -> Table:
    """The ranked differential as a table: probability, interval, strongest evidence."""
    entries = result["differential"]
    shown = [e for i, e in enumerate(entries[:rows]) if i < 5 or e["probability"] >= SHOWN_ABOVE]
    hidden = len(entries) - len(shown)
    caption = f"{hidden} more conditions below {SHOWN_ABOVE:.0%} (all 15 are in the JSON result)"
    table = Table(
        title="Differential", expand=False, show_lines=False, caption=caption if hidden else None
    )
    table.add_column("#", justify="right")
    table.add_column("Condition")
    table.add_column("Prob.", justify="right")
    table.add_column("5-95 %", justify="right")
    table.add_column("Strongest evidence (likelihood ratio, basis)")
    for i, entry in enumerate(shown, start=1):
        low, high = entry.get("interval", [entry["probability"]] * 2)
        table.add_row(
            str(i),
            entry["name"],
            f"{entry['probability']:.1%}",
            f"{low:.0%}-{high:.0%}",
            _evidence_text(entry["evidence"]),
        )
    return table


def render_result(out: Console, result: Mapping[str, Any]) -> None:
    """Print a whole result for a reader: triage, red flags, differential, next steps."""
    triage = result["triage"]
    header = f"Triage: {TRIAGE_WORDS[triage]}"
    if result.get("id"):
        header = f"Case {result['id']} - {header}"
    out.print(Panel(header, style=TRIAGE_STYLE[triage], expand=False))
    if result["red_flags"]:
        out.print("[bold red]Red flags[/]")
        for flag in result["red_flags"]:
            out.print(
                f"  [{TRIAGE_STYLE[flag['severity']]}]{flag['severity'].upper()}[/] "
                f"{flag['id']}: {flag['message']} (findings: {', '.join(flag['findings'])})"
            )
    else:
        out.print("Red flags: none fired on the findings given.")
    out.print(differential_table(result))
    out.print("[bold]Next steps[/]")
    for i, step in enumerate(result["next_steps"], start=1):
        out.print(f"  {i}. {step['text']}")
    out.print(
        f"[dim]Knowledge base {result['knowledge_version']}. Evidence marked 'estimate' rests on "
        "expert estimates, not on published figures.[/]"
    )
    out.print(f"[italic]{result['disclaimer']}[/]")


def render_plain_result(
    out: Console, result: Mapping[str, Any], plain_names: Mapping[str, str]
) -> None:
    """A result for a person checking themselves: what to do, then what it may be."""
    triage = result["triage"]
    out.print(Panel(PLAIN_TRIAGE_WORDS[triage], style=TRIAGE_STYLE[triage], expand=False))
    for flag in result["red_flags"]:
        out.print(f"[bold red]Important:[/] {flag['message']}")
    out.print("[bold]What it might be[/] (from your answers; only an examination can tell)")
    for entry in result["differential"][:3]:
        name = plain_names[entry["condition"]]
        out.print(f"  - {name}: about {entry['probability']:.0%}")
    out.print("[bold]What to do next[/]")
    for i, step in enumerate(result["next_steps"], start=1):
        out.print(f"  {i}. {step['text']}")
    out.print(f"[italic]{result['disclaimer']}[/]")
