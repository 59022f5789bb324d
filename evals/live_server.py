"""A real ``shopguide serve`` on 127.0.0.1 over a small demo shop: used by the browser/API/attack tests and by
``scripts/screenshots.py``, in demo mode (``--demo``: picker, widget demo, demo staff login) or in production
mode. The server is a child process started and stopped by its own pid.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from types import TracebackType

from domain.demo import generate_demo_shop
from domain.ingest import ingest_demo
from domain.privacy.tokens import token_secret
from domain.process import ProcessExited, http_answers, wait_until_healthy
from domain.settings import Settings
from valuation.service import get_value_service
from vectorstore.index import get_shop_index

# The knobs a live server must not inherit from the developer's environment (it serves only data_dir).
INHERITED_SETTINGS = (
    "SHOPGUIDE_DATABASE_URL",
    "SHOPGUIDE_CHROMA_URL",
    "SHOPGUIDE_CHROMA_PATH",
    "SHOPGUIDE_ENCRYPTION_KEY",
    "SHOPGUIDE_ENCRYPTION_KEY_FILE",
    "SHOPGUIDE_TOKEN_SECRET",
    "SHOPGUIDE_STAFF_USERS",
    "SHOPGUIDE_RATE_LIMIT_PER_MINUTE",
    "SHOPGUIDE_KEYS_DIR",
    "SHOPGUIDE_ALLOWED_ORIGINS",
    "SHOPGUIDE_TRUSTED_PROXIES",
    "SHOPGUIDE_SECURE_COOKIES",
)


def shop_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a self-contained demo data dir (SQLite + embedded Chroma inside it, no LLM)."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "llm": "none",
        "database_url": "",
        "chroma_url": "",
        "chroma_path": None,
        "encryption_key": "",
        "encryption_key_file": None,
        "token_secret": "",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def build_demo_data(data_dir: Path, *, n_users: int = 120, n_products: int = 100, seed: int = 7) -> Settings:
    """Generate and ingest a demo shop, index it and score every user: everything ``serve`` needs."""

    settings = shop_settings(data_dir)
    settings.ensure_dirs()
    token_secret(settings)  # create the widget-token secret now, so the server and tests read the same file
    generate_demo_shop(data_dir / "demo", seed=seed, n_users=n_users, n_products=n_products)
    ingest_demo(settings, data_dir / "demo", progress=False)
    get_shop_index(settings).refresh(progress=False)
    service = get_value_service(settings)
    service.train()
    service.assess_all(progress=False)
    return settings


def build_demo_data_in_subprocess(
    data_dir: Path, *, n_users: int = 120, n_products: int = 100, seed: int = 7, timeout_s: float = 1800
) -> None:
    """``build_demo_data`` in a child process: every store and Chroma handle is closed when it returns, so the
    directory can be copied safely (and the embedder's memory goes with the child)."""
    code = (
        "import sys; from pathlib import Path; from evals.live_server import build_demo_data, checkpoint_sqlite; "
        f"d = Path({str(data_dir)!r}); build_demo_data(d, n_users={n_users}, n_products={n_products}, seed={seed}); "
        "checkpoint_sqlite(d)"
    )
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS} | {"OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        raise RuntimeError(f"building the demo data failed:\n{done.stderr[-4000:]}")


# What a built demo data dir depends on: a cached build is reused only while these sources are unchanged.
BUILD_SOURCES = (
    "domain/demo",
    "domain/ingest",
    "domain/store/schema.py",
    "vectorstore",
    "valuation",
    "evals/live_server.py",
)
ROOT = Path(__file__).resolve().parents[1]


def build_key(n_users: int, n_products: int, seed: int = 7) -> str:
    digest = hashlib.sha256(f"{n_users}/{n_products}/{seed}".encode())
    for rel in BUILD_SOURCES:
        target = ROOT / rel
        for file in sorted(target.rglob("*.py")) if target.is_dir() else [target]:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def cached_demo_data(cache_root: Path, *, n_users: int = 120, n_products: int = 100, seed: int = 7) -> Path:
    """A built demo data dir under ``cache_root`` for the current sources, built once (atomic rename); treat it
    as read-only and serve a copy (``copy_data_dir``)."""
    cache_root.mkdir(parents=True, exist_ok=True)
    cached = cache_root / build_key(n_users, n_products, seed)
    if not (cached / "ready").exists():
        staging = cache_root / f"staging-{uuid.uuid4().hex}"
        build_demo_data_in_subprocess(staging / "data", n_users=n_users, n_products=n_products, seed=seed)
        (staging / "ready").write_text("ok")
        try:
            staging.rename(cached)
        except OSError:  # another process finished the same build first
            shutil.rmtree(staging, ignore_errors=True)
        for stale in cache_root.iterdir():  # keep only the current build
            if stale.name != cached.name and not stale.name.startswith("staging-"):
                shutil.rmtree(stale, ignore_errors=True)
    return cached / "data"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _shopguide_command() -> list[str]:
    script = Path(sys.executable).parent / "shopguide"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ui.cli import main; main()"]


class LiveServer:
    """``shopguide serve --host 127.0.0.1 --port P [--demo]`` over ``data_dir`` with ``llm=none``, until
    ``stop()``."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        demo: bool = True,
    ) -> None:
        self.data_dir = data_dir
        self.demo = demo
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"serve-{self.port}.log"
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 180.0) -> LiveServer:
        env = {k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS}
        env |= {
            "SHOPGUIDE_DATA_DIR": str(self.data_dir),
            "SHOPGUIDE_LLM": "none",
            "OPENBLAS_NUM_THREADS": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            **self.extra_env,
        }
        command = [*_shopguide_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--demo"] if self.demo else []
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_healthy(
                self.process,
                lambda: http_answers(self.url + "/healthz", (200, 503), timeout_s=2.0),
                what="shopguide serve",
                timeout_s=timeout_s,
                poll_s=0.5,
            )
        except ProcessExited as exc:
            raise RuntimeError(f"{exc}:\n{self.log_tail()}") from exc
        except TimeoutError as exc:
            self.stop()
            raise TimeoutError(f"{exc}:\n{self.log_tail()}") from exc
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, n_chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def copy_data_dir(source: Path, target: Path) -> Path:
    """A private copy of a built data dir (SQLite WAL side files are folded in by the builder's checkpoint)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*-wal", "*-shm", "logs"))
    return target


def checkpoint_sqlite(data_dir: Path) -> None:
    """Fold the SQLite WAL into the main file so a plain copy of ``data_dir`` is complete."""
    import sqlite3

    db = data_dir / "shopguide.db"
    if db.exists():
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
