"""The real local model through the managed llama.cpp server: assembly + hash, start on first use, health, one
shared instance, JSON mode with a schema, restart after a crash, and the prompt spy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import httpx
import pytest
from pydantic import BaseModel, Field

from domain.settings import Settings
from evals.local_model import free_port, local_settings
from llm import get_chat_model
from llm.local_server import (
    QWEN_05B_SHA256,
    ensure_local_server,
    get_local_server,
    resolve_model_path,
    verify_model,
)
from llm.server_child import HEALTH_PATH
from llm.spy import recording
from llm.structured import invoke_structured

pytestmark = [pytest.mark.llm, pytest.mark.slow]
PORT = free_port()  # a port of its own: other suites (and other engineers) run servers too


class Intent(BaseModel):
    intent: Literal["recommend", "order_status", "off_topic"]
    budget_max: float | None = None
    category: str | None = Field(default=None, max_length=30)


@pytest.fixture(scope="module")
def llm_settings(tmp_path_factory):
    base = Settings(
        data_dir=tmp_path_factory.mktemp("llm") / "data", llm="none", database_url="", chroma_url=""
    )
    settings = local_settings(base, port=PORT)
    yield settings
    get_local_server(settings).stop_if_owner()


def test_model_is_assembled_once_and_hash_verified(llm_settings):
    path = resolve_model_path(llm_settings)
    assert path.stat().st_size > 400_000_000
    if llm_settings.local_model_path is None:
        assert verify_model(path, QWEN_05B_SHA256)
    assert resolve_model_path(llm_settings) == path  # second call: no reassembly


def test_server_starts_on_first_use_and_answers(llm_settings):
    model = get_chat_model(llm_settings, max_tokens=20)
    reply = model.invoke("Reply with the single word: hello")
    assert "hello" in reply.content.lower()
    models = httpx.get(f"http://127.0.0.1:{PORT}/v1/models", timeout=10).json()
    assert models["data"][0]["id"].endswith(".gguf")


def test_structured_json_mode_with_schema_and_masking(llm_settings):
    with recording() as prompts:
        result = invoke_structured(
            llm_settings,
            [
                ("system", "Classify the shopper message. recommend = wants product suggestions; order_status = asks "
                 "about an order; off_topic = anything else. budget_max = a price limit in yuan if stated."),
                ("user", "Please recommend running shoes under 500 yuan, my phone is 13812345678"),
            ],
            Intent,
        )  # fmt: skip
    assert isinstance(result, Intent)
    assert result.intent == "recommend"
    assert prompts and all("13812345678" not in p.text for p in prompts)


def test_a_second_process_reuses_the_running_server(llm_settings):
    state_before = get_local_server(llm_settings).read_state()
    script = textwrap.dedent(
        f"""
        import json
        from pathlib import Path
        from domain.settings import Settings
        from llm.local_server import ensure_local_server, get_local_server
        s = Settings(data_dir=Path({str(llm_settings.data_dir)!r}), llm="local", local_port={PORT},
                     local_model_path={str(resolve_model_path(llm_settings))!r})
        ensure_local_server(s)
        print(json.dumps({{"pid": get_local_server(s).read_state().pid, "owner": get_local_server(s).read_state().owner_pid}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    child = json.loads(out.stdout.strip().splitlines()[-1])
    assert child["pid"] == state_before.pid  # the same server, not a new one
    assert child["owner"] == os.getpid()  # still owned (and later stopped) by this process
    assert get_chat_model(llm_settings, max_tokens=5) is not None  # the child did not stop it on exit


def test_a_busy_server_is_not_taken_for_a_hung_one(llm_settings):
    """llama.cpp's /v1/models waits behind a generation; the health route must not, or a second caller would
    restart the server under the first one's request."""
    ensure_local_server(llm_settings)
    server = get_local_server(llm_settings)
    pid = server.read_state().pid
    patient = llm_settings.model_copy(update={"llm_timeout_s": 600.0})
    with ThreadPoolExecutor(1) as pool:
        long_generation = pool.submit(
            get_chat_model(patient, max_tokens=200).invoke, "Count from 1 to 300, one number per line."
        )
        time.sleep(2.0)  # the generation holds the model lock now
        started = time.monotonic()
        health = httpx.get(f"http://127.0.0.1:{PORT}{HEALTH_PATH}", timeout=10).json()
        answered_in = time.monotonic() - started
        ensure_local_server(llm_settings)
        assert not long_generation.done()  # it was still generating when health answered
        assert long_generation.result(timeout=600).content
    assert answered_in < 2.0
    assert health["data"][0]["id"].endswith(".gguf")
    assert server.read_state().pid == pid  # not restarted


def test_a_killed_server_is_restarted_on_next_use(llm_settings):
    server = get_local_server(llm_settings)
    old_pid = server.read_state().pid
    server.kill()
    model = get_chat_model(llm_settings, max_tokens=10)
    assert server.read_state().pid != old_pid
    assert model.invoke("Say OK").content


def test_the_server_does_not_outlive_a_killed_owner(llm_settings, tmp_path):
    """The owner dies by SIGKILL (no atexit): the server's watchdog stops it within seconds."""
    import signal
    import time

    from llm.local_server import _pid_alive

    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from domain.settings import Settings
        from llm.local_server import ensure_local_server, get_local_server
        s = Settings(data_dir=Path({str(tmp_path / "owner")!r}), llm="local", local_port={free_port()},
                     local_model_path={str(resolve_model_path(llm_settings))!r})
        ensure_local_server(s)
        print(get_local_server(s).read_state().pid, flush=True)
        time.sleep(600)
        """
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    server_pid = int(owner.stdout.readline())
    assert _pid_alive(server_pid)
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _pid_alive(server_pid):
        time.sleep(0.5)
    assert not _pid_alive(server_pid)
