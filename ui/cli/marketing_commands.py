"""Marketing commands: `shopguide segments`, `shopguide campaign`, `shopguide eval recs`."""

from __future__ import annotations

import hmac
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from ui.cli.app import app, eval_app, export_app, get_settings, keys_app  # noqa: F401


def _settings():  # type: ignore[no-untyped-def]
    return get_settings()


def _staff_principal(settings, name: str, password: str | None):  # type: ignore[no-untyped-def]
    """A staff Principal when the name/password match ``settings.staff_users``; exits with a clear error otherwise."""
    from domain.privacy.access import Principal

    password = password if password is not None else os.environ.get("SHOPGUIDE_STAFF_PASSWORD")
    if password is None:
        password = typer.prompt(f"password for staff user {name}", hide_input=True)
    for entry in settings.staff_users.split(","):
        user, _, secret = entry.strip().partition(":")
        if user == name and secret and hmac.compare_digest(secret.encode(), password.encode()):
            return Principal.staff(name)
    typer.secho("staff login failed: unknown user or wrong password", fg="red", err=True)
    raise typer.Exit(2)


@app.command()
def segments(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON only")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV only")] = False,
) -> None:
    """Segment sizes, revenue share and average predicted value (from the stored value assessments)."""
    from recommend.marketing import segment_report

    try:
        report = segment_report(_settings())
    except Exception as exc:  # no store / no valuation model: say so, no traceback
        typer.secho(f"cannot compute segments: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    if as_csv:
        import pandas as pd

        typer.echo(pd.DataFrame([s.model_dump() for s in report.segments]).to_csv(index=False), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Segments · 用户分群 (users {report.users}, as of {report.as_of})")
    for col in ("segment", "users", "share", "revenue", "revenue share", "avg score", "avg pred. spend 12m",
                "avg churn", "avg P(buy 30d)"):  # fmt: skip
        table.add_column(col, justify="left" if col == "segment" else "right")
    for s in report.segments:
        table.add_row(
            s.segment, str(s.users), f"{s.user_share:.1%}", f"¥{s.revenue:,.0f}", f"{s.revenue_share:.1%}",
            f"{s.avg_score:.1f}", f"¥{s.avg_predicted_spend_12m:,.0f}", f"{s.avg_churn_risk:.2f}",
            f"{s.avg_next_purchase_prob_30d:.2f}",
        )  # fmt: skip
    Console().print(table)


@app.command()
def campaign(
    segment: Annotated[
        str, typer.Option("--segment", "-s", help="vip, loyal, promising, price_sensitive, at_risk, lapsed")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="output file: .csv, .parquet or .jsonl")],
    staff: Annotated[
        bool, typer.Option("--staff", help="include decrypted contacts (staff login, audited)")
    ] = False,
    staff_user: Annotated[str, typer.Option("--staff-user", help="staff name for --staff")] = "staff",
    password: Annotated[
        str | None, typer.Option("--password", help="staff password (or SHOPGUIDE_STAFF_PASSWORD)")
    ] = None,
    products: Annotated[
        bool, typer.Option("--products", help="add each user's top recommendation as offer item")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="top N users by score")] = None,
    engine: Annotated[str, typer.Option("--engine", help="local (the store) or spark (Parquet)")] = "local",
    scores: Annotated[
        Path | None, typer.Option("--scores", help="spark: the scored table (score --all --engine spark)")
    ] = None,
    input_dir: Annotated[
        Path | None, typer.Option("--input", help="spark: the store export (export store --parquet)")
    ] = None,
    master: Annotated[str | None, typer.Option("--master", help="spark master (default: settings)")] = None,
) -> None:
    """Export a targeting list for one segment: user id, score, suggested offer; masked PII unless --staff."""
    from recommend.marketing import campaign_list, write_table

    settings = _settings()
    if engine not in ("local", "spark"):
        raise typer.BadParameter("--engine must be local or spark")
    if engine == "spark":
        from ui.cli.spark_jobs import campaign_on_spark_cli

        if staff or products:
            typer.secho("--staff and --products run on the store only, not on Spark", fg="red", err=True)
            raise typer.Exit(2)
        master = master or settings.spark_master
        campaign_on_spark_cli(
            segment=segment, out=out, scores=scores, input_dir=input_dir, master=master, limit=limit
        )
        return
    principal = _staff_principal(settings, staff_user, password) if staff else None
    try:
        frame = campaign_list(settings, segment, principal=principal, with_products=products, limit=limit)
    except ValueError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    path = write_table(frame, out)
    pii = "decrypted contacts (audited)" if principal else "masked contacts"
    typer.echo(f"wrote {len(frame)} users of segment {segment} to {path} ({pii})")


@eval_app.command("recs")
def eval_recs(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON only")] = False,
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth", help="demo truth.parquet (default: data_dir/demo/truth.parquet if present, else split)"
        ),
    ] = None,
    split: Annotated[
        bool, typer.Option("--split", help="ignore any truth file: cut the store's own history")
    ] = False,
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", min=7, help="split protocol: days after the cut-off")
    ] = 90,
    users: Annotated[
        int, typer.Option("--users", min=10, help="users evaluated (random sample, seeded)")
    ] = 600,
    k: Annotated[int, typer.Option("--k", min=1, max=50)] = 10,
    seed: Annotated[int, typer.Option("--seed")] = 7,
) -> None:
    """Offline recommendation eval (temporal split): HitRate@k, nDCG@k, coverage, price-tier fit vs baselines."""
    from recommend.evaluate import evaluate_recs

    settings = _settings()
    if truth is None and not split:
        for candidate in (settings.data_dir / "demo" / "truth.parquet", settings.data_dir / "truth.parquet"):
            if candidate.exists():
                truth = candidate
                break
    if truth is not None and not truth.exists():
        typer.secho(f"truth file not found: {truth}", fg="red", err=True)
        raise typer.Exit(2)
    if as_json:
        report = evaluate_recs(settings, truth_path=None if split else truth, horizon_days=horizon_days,
                               max_users=users, k=k, seed=seed)  # fmt: skip
        typer.echo(report.model_dump_json(indent=2))
        return
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    with Progress(transient=True) as bar:
        task = bar.add_task("recommending", total=users)
        report = evaluate_recs(
            settings, truth_path=None if split else truth, horizon_days=horizon_days, max_users=users, k=k, seed=seed,
            on_progress=lambda n, total: bar.update(task, completed=n, total=total),
        )  # fmt: skip
    console = Console()
    table = Table(
        title=f"Recommendations @ {report.k} · protocol {report.protocol}, cut-off {report.cutoff[:10]}, "
        f"{report.users_evaluated} users, value signals from {report.value_source}"
    )
    for col in ("method", f"HR@{k}", f"nDCG@{k}", "coverage", "tier fit", f"HR@{k} 12m", "ms/user"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for m in report.methods:
        table.add_row(
            m.method, f"{m.hit_rate:.3f}", f"{m.ndcg:.3f}", f"{m.coverage:.1%}", f"{m.price_tier_fit:.1%}",
            "-" if m.hit_rate_12m is None else f"{m.hit_rate_12m:.3f}", f"{m.mean_latency_ms:.1f}",
        )  # fmt: skip
    console.print(table)
    if report.value_vs_ablation:
        d = report.value_vs_ablation
        console.print(
            f"Value-aware minus ablation (paired, 95% bootstrap CI): HitRate {d.hit_rate_diff:+.3f} "
            f"[{d.hit_rate_ci95[0]:+.3f}, {d.hit_rate_ci95[1]:+.3f}], nDCG {d.ndcg_diff:+.3f} "
            f"[{d.ndcg_ci95[0]:+.3f}, {d.ndcg_ci95[1]:+.3f}]"
        )
    if report.contrast:
        c = report.contrast
        console.print(
            f"Median recommended price, same requests: premium users ¥{c.premium_median:,.0f} vs price-sensitive "
            f"¥{c.price_sensitive_median:,.0f} (premium higher on {c.requests_premium_higher}/{len(c.per_request)} "
            "requests)"
        )
    if report.prediction:
        p = report.prediction
        console.print(
            f"Prediction AUC ({p.users} users): next purchase 30d {p.next_purchase_30d_auc}, churn {p.churn_auc}"
            + (f" — {p.note}" if p.note else "")
        )
    console.print("Acceptance: " + json.dumps(report.acceptance))
