"""Typed settings: one object, read from ``OMNIROUTE_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BLOCKED_EXTENSIONS = ("exe", "bat", "cmd", "com", "js", "msi", "scr", "vbs", "ps1", "jar", "dll", "sh")
DEFAULT_SECRET = "dev-insecure-secret-change-me"  # noqa: S105 - refused in production below


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNIROUTE_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./data")
    database_url: str = ""
    """Empty means SQLite at ``data_dir/omniroute.db``. ``postgresql+asyncpg://…`` selects PostgreSQL."""
    redis_url: str = ""
    """Empty means the in-process bus; ``redis://…`` selects the Redis bus (several nodes)."""
    secret_key: str = DEFAULT_SECRET
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    """The URL users reach this server on; defaults to http://host:port."""

    session_cookie_name: str = "omniroute_session"
    session_ttl_hours: int = 12
    cookie_secure: bool = False
    """Set true behind HTTPS (production should)."""

    offer_timeout_seconds: float = Field(default=60.0, gt=0)
    default_chat_capacity: int = Field(default=3, ge=1)
    max_message_bytes: int = 28 * 1024
    attachment_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    """The largest file customers and agents may attach (a widget may set a lower limit)."""
    attachment_blocked_extensions: list[str] = Field(
        default_factory=lambda: list(BLOCKED_EXTENSIONS),
        description="file extensions refused with 415 (JSON list in the environment)",
    )
    attachment_link_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    """How long a signed public file link (/files/…, for providers and transcripts) stays valid."""
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost_kib: int = Field(default=65536, ge=8)

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        ):
            msg = "OMNIROUTE_SECRET_KEY must be set to a random value of 32+ characters in production"
            raise ValueError(msg)
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'omniroute.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
