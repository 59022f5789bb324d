"""Commands of this group; registered on the shared apps in ui.cli.app: ``shopguide chat`` and
``shopguide eval agent``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from ui.cli.app import app, eval_app, export_app, get_settings, keys_app  # noqa: F401


def _settings(llm: str | None, mode: str | None = None) -> Any:
    settings = get_settings()
    update: dict[str, Any] = {}
    if llm:
        if llm not in ("local", "openai", "none"):
            raise typer.BadParameter("--llm must be local, openai or none")
        update["llm"] = llm
    if mode:
        if mode not in ("react", "guided", "auto"):
            raise typer.BadParameter("--mode must be react, guided or auto")
        update["agent_mode"] = mode
    return settings.model_copy(update=update) if update else settings


def _print_result(result: Any, as_json: bool) -> None:
    from rich.console import Console

    if as_json:
        payload = {
            "reply": result.reply,
            "language": result.language,
            "mode": result.mode,
            "intent": result.intent,
            "tool_calls": [{"name": c.name, "args": c.args} for c in result.tool_calls],
            "product_ids": result.product_ids,
            "timings": {"first_token_s": result.first_token_s, "total_s": result.total_s},
            "thread_id": result.thread_id,
            "error": result.error,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    console = Console()
    for call in result.tool_calls:
        console.print(f"[dim]· {call.name}({json.dumps(call.args, ensure_ascii=False)})[/dim]")
    console.print(result.reply)
    console.print(f"[dim]{result.mode} · {result.total_s:.2f}s[/dim]")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


@app.command()
def chat(
    message: str = typer.Argument(None, help="The message; omit it for an interactive session."),
    user: str = typer.Option(None, "--user", help="The shopper's user id (the session is bound to it)."),
    staff: bool = typer.Option(
        False, "--staff", help="Chat as customer-service staff (may look up any user)."
    ),
    mode: str = typer.Option(None, "--mode", help="react | guided (default: follows the provider)."),
    llm: str = typer.Option(None, "--llm", help="local | openai | none (default: SHOPGUIDE_LLM)."),
    thread: str = typer.Option(None, "--thread", help="Conversation id to continue (default: a new one)."),
    as_json: bool = typer.Option(
        False, "--json", help="Print reply, language, tool calls, product ids, timings."
    ),
) -> None:
    """Chat with the shopping guide, one message or an interactive REPL (empty line or Ctrl-D quits)."""
    from agent.service import ChatService
    from domain.privacy.access import Principal

    if not staff and not user:
        raise typer.BadParameter("give --user ID (a shopper) or --staff")
    settings = _settings(llm, mode)
    principal = Principal.staff() if staff else Principal.shopper(user)
    thread_id = thread or f"cli-{uuid.uuid4().hex[:12]}"
    service = ChatService(settings)
    try:
        if message:
            _print_result(service.respond_sync(thread_id, message, principal, mode=mode), as_json)
            return
        typer.echo(f"thread {thread_id} — empty line to quit / 空行退出")
        while True:
            try:
                line = input("> ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if not line:
                break
            _print_result(service.respond_sync(thread_id, line, principal, mode=mode), as_json)
    finally:
        service.close()


@eval_app.command("agent")
def eval_agent(
    mode: str = typer.Option(None, "--mode", help="react | guided (default: follows the provider)."),
    llm: str = typer.Option(None, "--llm", help="local | openai | none."),
    repeats: int = typer.Option(1, "--repeats", min=1, max=10, help="k: runs per scenario, for pass^k."),
    demo_dir: Annotated[
        Path | None, typer.Option("--demo-dir", help="Demo shop dir with truth.parquet (hidden archetypes).")
    ] = None,
    only: str = typer.Option(
        None, "--only", help="Only scenarios whose id contains one of these (comma-separated)."
    ),
    out: Annotated[Path | None, typer.Option("--out", help="Also write the full JSON report here.")] = None,
    as_json: bool = typer.Option(False, "--json", help="Print the JSON report only."),
) -> None:
    """Run the ≥40 scripted zh/en conversations on the demo shop; report pass rate, pass^k, grounding, latency."""
    from rich.console import Console
    from rich.table import Table

    from evals.fixtures import cleanup, eval_settings, find_personas
    from evals.runner import dump, load_scenarios, run_suite

    settings = _settings(llm, mode)
    console = Console(stderr=True)
    private = eval_settings(settings)
    try:
        truth = (demo_dir or settings.data_dir / "demo") / "truth.parquet"
        personas = find_personas(private, truth)
        wanted = [w.strip() for w in (only or "").split(",") if w.strip()]
        scenarios = [s for s in load_scenarios() if not wanted or any(w in s.id for w in wanted)]

        partial = out.with_suffix(".partial.jsonl") if out else None

        def progress(run: Any) -> None:
            if partial is not None:  # a long local-model run leaves its results even if interrupted
                with partial.open("a", encoding="utf-8") as fh:
                    fh.write(run.model_dump_json() + "\n")
            if not as_json:
                mark = "[green]pass[/green]" if run.passed else "[red]FAIL[/red]"
                console.print(f"{mark} {run.scenario} (repeat {run.repeat + 1})")

        summary = run_suite(private, personas, scenarios, mode=mode, repeats=repeats, progress=progress)
        from agent.service import resolve_mode

        summary.update(mode=resolve_mode(private, mode), llm=private.llm, personas=personas.model_dump())
    finally:
        cleanup(private)
    if out:
        out.write_text(dump(summary), encoding="utf-8")
    if as_json:
        typer.echo(dump(summary))
        return
    table = Table(title=f"agent eval · mode={summary['mode']} · llm={summary['llm']} · k={repeats}")
    columns = ("scenarios", "pass rate", "pass^k", "ungrounded ids", "premium>bargain", "turn p50/p95 s",
               "LLM texts", "first-try faithful", "template fallback", "answered")  # fmt: skip
    for column in columns:
        table.add_column(column)
    table.add_row(
        str(summary["scenarios"]),
        f"{summary['pass_rate']:.1%}",
        f"{summary['pass_hat_k']:.1%}",
        str(summary["ungrounded_count"]),
        summary["premium_above_bargain"],
        f"{summary['turn_p50_s']} / {summary['turn_p95_s']}",
        str(summary["llm_texts"]),
        _rate(summary["first_try_faithful_rate"]),
        _rate(summary["template_fallback_rate"]),
        f"{_rate(summary['answered_rate'])} of {summary['answered_turns']}",
    )
    Console().print(table)
    for failure in summary["failures"][:20]:
        Console().print(
            f"[red]{failure['scenario']}[/red] turn {failure['turn']}: {'; '.join(failure['failures'])}"
        )
