"""A private copy of a SQLite shop, for suites that must not touch the shop they were pointed at."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from domain.settings import Settings


def copy_store(
    source: Settings, target_dir: Path, *, chroma: bool = False, link_caches: bool = False
) -> Settings:
    """Copy the store (SQLite's backup API: consistent even while the source is in WAL mode) and the PII keys
    into ``target_dir``; ``chroma`` copies the embedded Chroma directory too, ``link_caches`` shares the embedding
    cache (content-addressed) and the trained models (read-mostly) by symlink. Returns settings for the copy."""
    if not source.database_url.startswith("sqlite:///"):
        raise ValueError("only a SQLite store can be copied; point SHOPGUIDE_DATABASE_URL at one")
    database = Path(source.database_url.removeprefix("sqlite:///"))
    if not database.is_file():
        # sqlite3 would say only "unable to open database file" (or silently create an empty one)
        raise ValueError(
            f"no shop at {database}: run `shopguide setup` (demo) or `shopguide setup --data DIR` first"
        )
    target_dir.mkdir(parents=True, exist_ok=True)
    with (
        sqlite3.connect(database) as src,
        sqlite3.connect(target_dir / "shopguide.db") as dst,
    ):
        src.backup(dst)
    if source.key_dir.exists():
        shutil.copytree(source.key_dir, target_dir / "keys", dirs_exist_ok=True)
    if chroma and source.chroma_path and Path(source.chroma_path).exists() and not source.chroma_url:
        shutil.copytree(source.chroma_path, target_dir / "chroma", dirs_exist_ok=True)
    if link_caches:
        (target_dir / "cache").mkdir(exist_ok=True)
        embeddings = source.cache_dir / "embeddings.sqlite"
        if embeddings.exists() and not (target_dir / "cache" / "embeddings.sqlite").exists():
            (target_dir / "cache" / "embeddings.sqlite").symlink_to(embeddings)
        if source.models_dir.exists() and not (target_dir / "models").exists():
            (target_dir / "models").symlink_to(source.models_dir)
    return source.model_copy(
        update={
            "data_dir": target_dir,
            "keys_dir": target_dir / "keys",
            "database_url": f"sqlite:///{target_dir / 'shopguide.db'}",
            "chroma_path": target_dir / "chroma",
        }
    )
