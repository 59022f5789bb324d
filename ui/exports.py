"""Staff campaign exports as private, expiring, one-time downloads.

A campaign CSV may hold decrypted contacts, so it never enters Gradio's file cache (the public shopper app
serves files from that shared folder). It is written to ``data_dir/exports`` (mode 0700), registered under a
random id, and served by ``GET /staff/exports/{id}`` only to the signed-in staff member who made it, within
``ttl_s``; the file is deleted after that download or on expiry. Creation and download are audited; the URL
carries only the opaque id, so access logs hold no file path.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from domain.privacy.access import Principal, audit
from domain.settings import Settings
from domain.store.db import get_engine

log = logging.getLogger(__name__)

EXPORT_TTL_S = 600.0
DOWNLOAD_ROUTE = "/staff/exports"


@dataclass(frozen=True)
class Export:
    export_id: str
    owner: str
    path: Path
    created: float

    @property
    def url(self) -> str:
        return f"{DOWNLOAD_ROUTE}/{self.export_id}"


class ExportVault:
    def __init__(
        self, settings: Settings, *, ttl_s: float = EXPORT_TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings, self.ttl_s, self._clock = settings, ttl_s, clock
        self.folder = settings.data_dir / "exports"
        shutil.rmtree(self.folder, ignore_errors=True)  # leftovers of a previous run are expired by now
        self.folder.mkdir(parents=True, mode=0o700)
        self._exports: dict[str, Export] = {}
        self._lock = threading.Lock()

    def staging_dir(self, owner: str) -> Path:
        """A fresh private folder to write one export into."""
        self.sweep()
        folder = self.folder / secrets.token_hex(8)
        folder.mkdir(mode=0o700)
        return folder

    def register(self, owner: str, path: Path) -> Export:
        export = Export(secrets.token_urlsafe(24), owner, path, self._clock())
        with self._lock:
            self._exports[export.export_id] = export
        audit(get_engine(self.settings), Principal.staff(owner), None, "export_created", path.name)
        return export

    def take(self, export_id: str, user: str | None) -> Export | None:
        """The export if ``user`` made it and it has not expired; it is removed from the vault either way only
        when it is handed out (another staff member's attempt leaves it for its owner)."""
        self.sweep()
        with self._lock:
            export = self._exports.get(export_id)
            if export is None or not user or export.owner != user:
                return None
            del self._exports[export_id]
        audit(get_engine(self.settings), Principal.staff(user), None, "export_downloaded", export.path.name)
        return export

    def discard(self, export: Export) -> None:
        shutil.rmtree(export.path.parent, ignore_errors=True)

    def sweep(self) -> None:
        now = self._clock()
        with self._lock:
            expired = [e for e in self._exports.values() if now - e.created > self.ttl_s]
            for export in expired:
                del self._exports[export.export_id]
        for export in expired:
            self.discard(export)
