"""Commands of this group; registered on the shared apps in ui.cli.app."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ui.cli.app import app, eval_app, export_app, get_settings, keys_app  # noqa: F401

if TYPE_CHECKING:
    from rich.console import Console

    from domain.models import ValueAssessment
    from valuation.datasets import Dataset


# ---- eval value (owner: valuation-models) ---------------------------------------------------------------------
@eval_app.command("value")
def eval_value(
    dataset: str = typer.Option(
        "cdnow-sample", "--dataset", help="cdnow-sample, cdnow-master, demo, or a transaction CSV path."
    ),
    split: str = typer.Option(
        "temporal", "--split", help="temporal, random (80/20 customers) or stratified."
    ),
    calibration_end: str | None = typer.Option(
        None, "--calibration-end", help="Last day of the calibration period."
    ),
    holdout_end: str | None = typer.Option(None, "--holdout-end", help="Last day of the holdout period."),
    llm_sample: int = typer.Option(
        0, "--llm-sample", min=0, help="Score N sampled customers with the LLM scorer."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON only."),
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the calibration plot (PNG) here.")
    ] = None,
    customer_col: str = typer.Option("customer_id", "--customer-col", help="CSV: customer id column."),
    date_col: str = typer.Option("date", "--date-col", help="CSV: date column."),
    amount_col: str = typer.Option("amount", "--amount-col", help="CSV: amount column."),
    date_format: str | None = typer.Option(None, "--date-format", help="CSV: strftime format of the dates."),
    seed: int = typer.Option(7, "--seed", help="Seed of the customer split and the LLM sample."),
    folds: int = typer.Option(
        5,
        "--folds",
        min=1,
        help="random/stratified: evaluate out of fold over N disjoint 20%s (1 = one split).",
    ),
    subsample_sizes: str | None = typer.Option(
        None,
        "--subsample",
        help="Small shops: evaluate random subsamples of these sizes (e.g. 500,2000,8000) instead.",
    ),
    seeds: int = typer.Option(3, "--seeds", min=1, help="With --subsample: subsamples per size."),
) -> None:
    """Evaluate every value model side by side on real data (holdout purchases and spend).

    在真实数据上并列评估所有价值模型（预测期购买次数与消费额）。
    """
    import json as _json

    from rich.console import Console
    from rich.table import Table

    from valuation.datasets import load_dataset
    from valuation.evaluate import run_value_eval
    from valuation.splits import SPLIT_KINDS

    console = Console(stderr=as_json)
    if split not in SPLIT_KINDS:
        raise typer.BadParameter(f"--split must be one of {', '.join(SPLIT_KINDS)}")
    sizes = _parse_sizes(subsample_sizes) if subsample_sizes else None
    settings = get_settings()
    try:
        data = load_dataset(
            dataset,
            settings=settings,
            customer_col=customer_col,
            date_col=date_col,
            amount_col=amount_col,
            date_format=date_format,
        )
        if sizes:
            _subsample_study(console, data, sizes, seeds, split, folds, calibration_end, holdout_end, as_json)
            return
        with console.status(f"evaluating {data.name} ({split} split) / 评估中…"):
            report, predictions = run_value_eval(
                data,
                split=split,
                calibration_end=calibration_end,
                holdout_end=holdout_end,
                llm_sample=llm_sample,
                settings=settings,
                seed=seed,
                n_folds=folds,
            )
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]error / 错误:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    if plot is not None:
        from valuation.plots import calibration_plot

        calibration_plot(predictions, plot, title=f"{report.dataset} · {report.split}")
    if as_json:
        payload = _json.loads(report.model_dump_json())  # NaN (undefined metric) becomes null: strict JSON
        payload["plot"] = str(plot) if plot else None
        typer.echo(_json.dumps(payload, indent=2))
        return
    console.print(
        f"[bold]{report.dataset}[/bold] · split {report.split} · calibration to {report.calibration_end}, "
        f"holdout to {report.holdout_end} · {report.n_evaluated}/{report.n_customers} customers evaluated"
    )
    console.print(f"training / 训练: {report.training}")
    for k, weights in enumerate(report.blend, start=1):
        console.print(f"blend vs BTYD / 与 BTYD 混合 (engine {k}): {weights['text']}")
    b = report.btyd
    console.print(
        f"BG/NBD r={b['r']:.3f} alpha={b['alpha']:.3f} a={b['a']:.3f} b={b['b']:.3f} · "
        f"Gamma-Gamma p={b['p']:.2f} q={b['q']:.2f} v={b['v']:.2f}"
    )
    short = {"decile_mape": "dec_mape", "top_decile_lift": "lift@10", "total_ratio": "tot_ratio"}
    groups = (
        ("accuracy / 误差", ("mse", "mae", "rmse", "decile_mape", "total_ratio")),
        ("ranking / 排序", ("pearson", "spearman", "gini", "top_decile_lift")),
    )
    for target, label in (("spend", "holdout spend / 消费额"), ("purchases", "holdout purchases / 购买次数")):
        for group, metrics in groups:
            table = Table(title=f"{label} · {group} (n={report.n_evaluated})")
            table.add_column("model / 模型", no_wrap=True)
            for metric in metrics:
                table.add_column(short.get(metric, metric), justify="right", no_wrap=True)
            for row in report.table(target):
                table.add_row(row.model, *(f"{row.metrics[m]:.4g}" for m in metrics))
            console.print(table)
    console.print(f"LLM scorer / LLM 评分: {report.llm.get('status')}")
    if report.fold_gains:
        spread = [g["spearman_gain"] for g in report.fold_gains]
        console.print(
            f"per fold (n≈{report.fold_gains[0]['n']:.0f}): Spearman gain {min(spread):+.3f} .. {max(spread):+.3f}"
        )
    if report.acceptance is not None:
        acc = report.acceptance
        marks = "  ".join(f"{'✔' if ok else '✘'} {name}" for name, ok in acc.passed.items())
        console.print(
            f"final engine vs BG/NBD×GG (spend): Spearman {acc.spearman_gain:+.3f}, Gini {acc.gini_gain:+.3f}, "
            f"RMSE ×{acc.rmse_ratio:.3f}, total {acc.total_ratio:.3f} → {marks}"
        )
    if plot is not None:
        console.print(f"calibration plot / 校准图: {plot}")


def _parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"--subsample takes sizes like 500,2000,8000, not {text!r}") from exc
    if not sizes or min(sizes) < 1:
        raise typer.BadParameter(f"--subsample takes positive sizes like 500,2000,8000, not {text!r}")
    return sizes


def _subsample_study(
    console: Console,
    data: Dataset,
    sizes: list[int],
    seeds: int,
    split: str,
    folds: int,
    calibration_end: str | None,
    holdout_end: str | None,
    as_json: bool,
) -> None:
    import json as _json

    from rich.table import Table

    from valuation.small_shops import run_subsample_study

    report = run_subsample_study(
        data,
        sizes,
        seeds,
        split=split,
        n_folds=folds,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        progress=console.log,
    )
    if as_json:
        typer.echo(_json.dumps(_json.loads(report.model_dump_json()), indent=2))
        return
    table = Table(
        title=f"{report.dataset} subsamples · {split} split · gain of the final engine over BG/NBD×GG"
    )
    for col in (
        "customers",
        "runs",
        "Spearman gain",
        "Gini gain",
        "RMSE ratio",
        "total",
        "spend weight",
        "≥ 0",
    ):
        table.add_column(col, justify="right")
    for row in report.sizes:
        m, se = row.mean, row.se
        table.add_row(
            f"{row.size:,}",
            str(row.runs),
            f"{m['spearman_gain']:+.4f} ± {se['spearman_gain']:.4f}",
            f"{m['gini_gain']:+.4f} ± {se['gini_gain']:.4f}",
            f"{m['rmse_ratio']:.3f}",
            f"{m['total_ratio']:.3f}",
            f"{m['spend_weight']:.2f} (BTYD only {row.btyd_only_runs})",
            "✔" if row.passed() else "✘",
        )
    console.print(table)
    console.print(
        "± is the standard error over the seeds; spend weight 0 = ranking by BTYD after the backtest"
    )


# ---- train (owner: valuation-service) ------------------------------------------------------------------------
@app.command("train")
def train(
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")] = False,
    no_profile: Annotated[bool, typer.Option("--no-profile", help="Train without profile features.")] = False,
) -> None:
    """Train the value engine on the store and report its backtest, including the blend weights vs BTYD.

    在店铺数据上训练价值模型，并报告回测结果（含与 BTYD 的混合权重）。
    """
    import json as _json

    from rich.console import Console

    from valuation.service import get_value_service

    console = Console(stderr=True)
    service = get_value_service(get_settings())
    try:
        with console.status("training the value engine / 训练价值模型…"):
            meta = service.train(with_profile=not no_profile)
    except ValueError as exc:
        console.print(f"[red]error / 错误:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(_json.dumps(meta, default=str, ensure_ascii=False, indent=2))
        return
    console.print(
        f"value engine {meta['version']} trained as of {meta['as_of']} on {meta['n_train_rows']} rows"
    )
    backtest = meta.get("backtest") or {}
    if backtest:
        console.print(f"backtest / 回测: {backtest}")
    console.print(f"blend vs BTYD / 与 BTYD 混合: {meta['blend']['text']}")


# ---- score, export finetune (owner: valuation-service) --------------------------------------------------------
@app.command("score")
def score(
    user_id: Annotated[str | None, typer.Argument(help="The user to assess (omit with --all).")] = None,
    all_users: Annotated[
        bool, typer.Option("--all", help="Assess every user (no LLM), store and export.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="With --all: write a .parquet or .csv file.")
    ] = None,
    llm: Annotated[
        bool, typer.Option("--llm/--no-llm", help="Use the LLM for the profile and wording.")
    ] = True,
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Retrain the engine on the store first.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")] = False,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="With --all: scoring processes (default: the cores, up to 4)."),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="With --all: local (default) or spark (settings.batch_engine)."),
    ] = None,
    master: Annotated[
        str | None, typer.Option("--master", help="Spark master: local[2], spark://host:7077, yarn.")
    ] = None,
    input_dir: Annotated[
        Path | None, typer.Option("--input", help="Spark: the Parquet tables (`export store --parquet`).")
    ] = None,
    write_back: Annotated[
        bool, typer.Option("--write-back", help="Spark: upsert the scored table into the store.")
    ] = False,
) -> None:
    """Score one user's value (0-100, segment, predictions, reasons), or every user with --all.

    评估用户价值（0-100 分、分群、预测与原因）；--all 评估全部用户。
    """
    import json as _json

    from rich.console import Console

    from valuation.service import UnknownUser, get_value_service

    console = Console(stderr=True)
    if not all_users and not user_id:
        raise typer.BadParameter("give a USER_ID, or --all / 请提供用户 ID 或使用 --all")
    settings = get_settings()
    if engine not in (None, "local", "spark"):
        raise typer.BadParameter("--engine must be local or spark")
    if all_users and (engine or settings.batch_engine) == "spark":
        from ui.cli.spark_jobs import score_all_on_spark

        master = master or settings.spark_master
        score_all_on_spark(
            input_dir=input_dir, out=out, master=master, write_back=write_back, as_json=as_json
        )
        return
    if out is not None and out.suffix not in (".parquet", ".pq", ".csv"):
        raise typer.BadParameter("--out must end in .parquet or .csv")
    service = get_value_service(settings)
    try:
        if retrain:
            with console.status("training the value engine / 训练价值模型…"):
                service.train()
        elif not service.model_dir.exists():
            with console.status("first use: training the value engine / 首次使用，训练价值模型…"):
                service.ensure_ready()
        if all_users:
            batch = service.assess_all(out=out, progress=not as_json, workers=workers)
            summary = {
                "users": batch.users,
                "model_version": service.model_version,
                "out": str(out) if out else None,
                "segments": dict(sorted(batch.segments.items(), key=lambda kv: -kv[1])),
                "mean_score": batch.mean_score,
                "seconds": round(batch.seconds, 2),
                "users_per_s": round(batch.users_per_s, 1),
            }
            if as_json:
                typer.echo(_json.dumps(summary, ensure_ascii=False, indent=2))
            else:
                console.print(summary)
            return
        assessment = service.assess(str(user_id), with_llm=llm)
    except UnknownUser as exc:
        console.print(f"[red]unknown user / 用户不存在:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    except ValueError as exc:
        console.print(f"[red]error / 错误:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(assessment.model_dump_json(indent=2))
        return
    _print_assessment(assessment)


def _print_assessment(a: ValueAssessment) -> None:
    from rich.console import Console
    from rich.table import Table

    from domain.i18n import segment_label

    console = Console()
    en, zh = segment_label(a.segment, "en"), segment_label(a.segment, "zh")
    table = Table(title=f"{a.user_id} · score {a.score:.1f}/100 · {en} / {zh} · as of {a.as_of}")
    table.add_column("measure / 指标")
    table.add_column("value / 数值", justify="right")
    for label, value in (
        ("predicted 12-month spend / 预计12个月消费", f"¥{a.predicted_spend_12m:,.2f}"),
        ("predicted purchases / 预计购买次数", f"{a.predicted_purchases_12m:.2f}"),
        ("P(alive) / 活跃概率", f"{a.p_alive:.2f}"),
        ("churn risk / 流失风险", f"{a.churn_risk:.2f}"),
        ("buy in 30 days / 30天内购买概率", f"{a.next_purchase_prob_30d:.2f}"),
        ("price sensitivity / 价格敏感度", f"{a.price_sensitivity:.2f}"),
        ("likely categories / 可能购买品类", ", ".join(a.likely_categories)),
    ):
        table.add_row(label, value)
    console.print(table)
    reasons = Table(title="reasons (log-spend contributions) / 原因")
    for col in ("feature / 特征", "value / 值", "effect / 影响"):
        reasons.add_column(col)
    for r in a.reasons:
        reasons.add_row(
            f"{r.label_en} / {r.label_zh}",
            "" if r.value is None else f"{r.value:g}",
            f"{r.contribution:+.3f}",
        )
    console.print(reasons)
    console.print(a.explanation)
    console.print(f"[dim]profile: {a.profile.source if a.profile else '-'} · model {a.model_version}[/dim]")


@export_app.command("finetune")
def export_finetune(
    out: Annotated[Path, typer.Option("--out", help="The JSONL file to write.")],
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many users.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")] = False,
) -> None:
    """Write OpenAI chat fine-tuning JSONL: masked history summary -> the engine's score and segment.

    导出 OpenAI 对话微调 JSONL：脱敏的历史摘要 → 价值评分与分群。
    """
    import json as _json

    from valuation.finetune import finetune_examples, write_finetune_jsonl
    from valuation.service import get_value_service

    service = get_value_service(get_settings())
    examples = finetune_examples(service.population, service.features, limit=limit)
    path = write_finetune_jsonl(out, examples)
    summary = {"examples": len(examples), "out": str(path), "model_version": service.model_version}
    typer.echo(_json.dumps(summary, indent=2) if as_json else f"wrote {len(examples)} examples to {path}")
