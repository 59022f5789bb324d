"""`shopguide index` (build/refresh the Chroma indexes) and `shopguide eval retrieval` (retrieval quality)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ui.cli.app import app, eval_app, export_app, get_settings, keys_app  # noqa: F401


@app.command("index")
def index_command(
    products: Annotated[
        bool, typer.Option("--products/--no-products", help="Index the product catalog.")
    ] = True,
    history: Annotated[bool, typer.Option("--history/--no-history", help="Index user histories.")] = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print the stats as JSON only.")] = False,
) -> None:
    """Build or refresh the product and user-history indexes from the store (incremental: only changes are embedded)."""
    from rich.console import Console

    from vectorstore.client import describe
    from vectorstore.index import get_shop_index

    settings = get_settings()
    settings.ensure_dirs()
    stats = get_shop_index(settings).refresh(progress=not json_output, products=products, history=history)
    if json_output:
        typer.echo(stats.model_dump_json())
        return
    console = Console()
    console.print(f"[bold]Index[/bold] 索引 ({describe(settings)})")
    if products:
        console.print(
            f"  products 商品: {stats.products_total} docs, {stats.products_upserted} written, "
            f"{stats.products_deleted} deleted"
        )
    if history:
        console.print(
            f"  user_history 用户历史: {stats.history_total} docs, {stats.history_upserted} written, "
            f"{stats.history_deleted} deleted"
        )
    console.print(f"  embedded 新嵌入: {stats.texts_embedded} texts in {stats.seconds:.1f} s")


@eval_app.command("retrieval")
def eval_retrieval(
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog",
            help="A products.jsonl to evaluate on (default: the demo catalog, seed 7, 600 products).",
        ),
    ] = None,
    catalog_langs: Annotated[
        list[str] | None,
        typer.Option(
            "--catalog-lang",
            help="bilingual, en (English-only version of the catalog) or zh (Chinese-only); repeatable "
            "(default: all three).",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the reports as JSON only.")] = False,
    per_query: Annotated[
        bool, typer.Option("--per-query", help="Also list each query's recall@5 per arm.")
    ] = False,
) -> None:
    """Recall@5, MRR@10 and nDCG@10 per query language x catalog language, for dense-only, BM25-only and hybrid."""
    from rich.console import Console
    from rich.table import Table

    from evals.retrieval import CATALOG_LANGS, demo_catalog, evaluate_catalogs

    settings = get_settings()
    settings.ensure_dirs()
    langs = tuple(catalog_langs or CATALOG_LANGS)
    unknown = [lang for lang in langs if lang not in CATALOG_LANGS]
    if unknown:
        raise typer.BadParameter(f"--catalog-lang takes {', '.join(CATALOG_LANGS)}, not {', '.join(unknown)}")
    if catalog is not None:
        if not catalog.exists():
            raise typer.BadParameter(f"no such file: {catalog}")
        rows = [json.loads(line) for line in catalog.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        rows = demo_catalog(settings.cache_dir)
    reports = evaluate_catalogs(settings, rows, langs)  # type: ignore[arg-type]
    if json_output:
        exclude = set() if per_query else {"per_query"}
        typer.echo(json.dumps({lang: r.model_dump(exclude=exclude) for lang, r in reports.items()}))
        return
    first = next(iter(reports.values()))
    table = Table(
        title=f"Retrieval quality 检索质量 ({first.n_queries} queries, {first.n_products} products)"
    )
    for column in ("catalog", "arm", "query lang", "n", "recall@5", "MRR@10", "nDCG@10"):
        table.add_column(column, justify="left" if column in ("catalog", "arm", "query lang") else "right")
    for catalog_lang, report in reports.items():
        for mode in ("dense", "bm25", "hybrid"):
            for lang in ("zh", "en", "all"):
                s = report.scores[mode][lang]
                table.add_row(
                    catalog_lang,
                    mode,
                    lang,
                    str(s.n),
                    f"{s.recall_at_5:.3f}",
                    f"{s.mrr_at_10:.3f}",
                    f"{s.ndcg_at_10:.3f}",
                )
        table.add_section()
    console = Console()
    console.print(table)
    for catalog_lang, report in reports.items():
        if report.skipped:
            console.print(
                f"[yellow]{catalog_lang}: skipped (no relevant product in this catalog): "
                f"{', '.join(report.skipped)}[/yellow]"
            )
        if per_query:
            detail = Table(title=f"Per query recall@5 ({catalog_lang} catalog)")
            for column in ("id", "query", "rel", "dense", "bm25", "hybrid"):
                detail.add_column(column)
            for q in report.per_query:
                detail.add_row(
                    q["id"],
                    q["query"],
                    str(q["n_relevant"]),
                    str(q["dense_recall_at_5"]),
                    str(q["bm25_recall_at_5"]),
                    str(q["hybrid_recall_at_5"]),
                )
            console.print(detail)
