"""Process logging: every handler masks PII (``PiiLogFilter``) before a line reaches the console or the log file."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Iterable

from domain.privacy.masking import PiiLogFilter
from domain.settings import Settings

# Loggers that frameworks give their own handlers (uvicorn configures these at startup).
FRAMEWORK_LOGGERS: tuple[str, ...] = ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "gradio")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def install_pii_filter(handlers: Iterable[logging.Handler]) -> None:
    """Attach the masking filter to these handlers once (idempotent)."""
    for handler in handlers:
        if not any(isinstance(f, PiiLogFilter) for f in handler.filters):
            handler.addFilter(PiiLogFilter())


def mask_all_handlers(logger_names: Iterable[str] = FRAMEWORK_LOGGERS) -> None:
    """Install the filter on the root handlers and on framework loggers' own handlers (call again after
    a framework reconfigures logging, e.g. at server start)."""
    install_pii_filter(logging.getLogger().handlers)
    for name in logger_names:
        install_pii_filter(logging.getLogger(name).handlers)


def configure_logging(settings: Settings, *, console: bool = True) -> None:
    """Root logging to stderr and ``data_dir/logs/shopguide.log`` (rotating), all through the PII filter."""
    root = logging.getLogger()
    root.setLevel(settings.log_level.upper())
    formatter = logging.Formatter(_FORMAT)
    has_file = any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers)
    if not has_file:
        log_dir = settings.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            log_dir / "shopguide.log", maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)
    if console and not any(type(h) is logging.StreamHandler for h in root.handlers):
        stream = logging.StreamHandler()
        stream.setFormatter(formatter)
        stream.setLevel(logging.WARNING)  # the CLI prints its own progress; the console shows problems only
        root.addHandler(stream)
    mask_all_handlers()
