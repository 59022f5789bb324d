"""Conversation memory: one SQLite file under data_dir holding the LangGraph checkpoints of every thread, plus a
small ``agent_threads`` table recording who owns each thread (so a shopper cannot resume another's thread, and
erasure can delete a user's conversations). Checkpoint blobs are encrypted (Fernet under the "checkpoints" key
derived in ``domain.privacy.crypto``): the file holds no conversation text in the clear."""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from domain.privacy.access import AccessDenied, Principal
from domain.privacy.crypto import purpose_fernet
from domain.settings import Settings


def checkpoint_path(settings: Settings) -> Path:
    return settings.data_dir / "agent" / "checkpoints.sqlite"


class FernetCipher:
    """LangGraph's cipher protocol over Fernet (AES-128-CBC + HMAC-SHA256)."""

    name = "fernet"

    def __init__(self, fernet: Fernet) -> None:
        self._fernet = fernet

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return self.name, self._fernet.encrypt(plaintext)

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        if ciphername != self.name:
            raise ValueError(f"unsupported checkpoint cipher {ciphername!r}")
        return self._fernet.decrypt(ciphertext)


class ConversationMemory:
    def __init__(self, settings: Settings) -> None:
        path = checkpoint_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS agent_threads (thread_key TEXT PRIMARY KEY, thread_id TEXT NOT NULL, "
                "mode TEXT NOT NULL, actor TEXT NOT NULL, user_id TEXT, created_at TEXT NOT NULL)"
            )
            self._conn.commit()
        cipher = FernetCipher(purpose_fernet(settings, "checkpoints"))
        self.checkpointer = SqliteSaver(self._conn, serde=EncryptedSerializer(cipher))

    @staticmethod
    def thread_key(mode: str, thread_id: str) -> str:
        return f"{mode}:{thread_id}"

    def claim(self, mode: str, thread_id: str, principal: Principal) -> str:
        """The checkpoint key of the thread for this caller; AccessDenied if someone else owns it."""
        key = self.thread_key(mode, thread_id)
        with self._lock:
            row = self._conn.execute(
                "SELECT actor FROM agent_threads WHERE thread_key = ?", (key,)
            ).fetchone()
            if row is None:
                self._conn.execute(
                    "INSERT INTO agent_threads VALUES (?, ?, ?, ?, ?, ?)",
                    (key, thread_id, mode, principal.actor, principal.user_id, datetime.now(UTC).isoformat()),
                )
                self._conn.commit()
            elif row[0] != principal.actor:
                raise AccessDenied("this conversation belongs to another user")
        return key

    def threads_of(self, user_id: str) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT thread_key FROM agent_threads WHERE user_id = ?", (user_id,)
            ).fetchall()
        return [r[0] for r in rows]

    def staff_threads_about(self, user_id: str) -> list[str]:
        """Staff conversations whose latest state mentions ``user_id`` (a lookup, a tool call, a reply)."""
        with self._lock:
            rows = self._conn.execute("SELECT thread_key FROM agent_threads WHERE user_id IS NULL").fetchall()
        mention = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(user_id)}(?![A-Za-z0-9_])")
        found = []
        for (key,) in rows:
            state = self.checkpointer.get_tuple({"configurable": {"thread_id": key}})
            if state is not None and mention.search(repr(state.checkpoint.get("channel_values"))):
                found.append(key)
        return found

    def forget_user(self, user_id: str) -> int:
        """Delete every checkpoint of the user's own threads and of staff threads about the user (right to
        erasure). Returns the number of threads."""
        keys = self.threads_of(user_id) + self.staff_threads_about(user_id)
        for key in keys:
            self.checkpointer.delete_thread(key)
        with self._lock:
            self._conn.executemany("DELETE FROM agent_threads WHERE thread_key = ?", [(k,) for k in keys])
            self._conn.commit()
        return len(keys)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def forget_user_threads(settings: Settings, user_id: str) -> int:
    """For ``shopguide forget``: remove the agent checkpoints of every thread owned by ``user_id``."""
    if not checkpoint_path(settings).exists():
        return 0
    memory = ConversationMemory(settings)
    try:
        return memory.forget_user(user_id)
    finally:
        memory.close()
