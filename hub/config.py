"""Settings read from HUB_* environment variables, and the checks that guard production."""

from enum import StrEnum
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "development-only-secret-key-change-me"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    env: Environment = Environment.development
    secret_key: str = DEFAULT_SECRET_KEY
    # Encrypts identity provider client secrets; derived from secret_key when empty.
    encryption_key: str = ""
    database_url: str = "sqlite:///./var/hub.db"
    base_url: str = "http://127.0.0.1:8000"
    # Sync routes run in AnyIO's threadpool; the database pool is sized to match it so a
    # burst of requests waits for a thread, never for a connection.
    threads: int = Field(default=40, ge=1)
    session_days: int = Field(default=14, ge=1)
    session_idle_hours: int = Field(default=72, ge=1)
    login_timeout_minutes: int = Field(default=10, ge=1)
    dev_idp: bool | None = None
    # Evidence files live here, named by their SHA-256; never under static/.
    upload_dir: str = "./var/uploads"
    max_upload_mb: int = Field(default=20, ge=1)
    # Sign-in attempts allowed per window, per client address and per e-mail address.
    login_attempts_per_ip: int = Field(default=30, ge=1)
    login_attempts_per_email: int = Field(default=10, ge=1)
    login_attempt_window_minutes: int = Field(default=15, ge=1)
    # Outgoing mail: smtp://host:port, smtp+starttls://user:password@host:587 or
    # smtps://user:password@host:465. Empty: mail waits in the outbox until it is set.
    smtp_url: str = ""
    mail_from: str = "Alliance Hub <hub@localhost>"
    # Add `X-Queries` (SQL statements run) to every response: for benchmarks and tests.
    count_queries: bool = False
    # Calls each API token may make per minute; more get 429 with Retry-After.
    api_requests_per_minute: int = Field(default=300, ge=1)

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def dev_idp_enabled(self) -> bool:
        """The development identity provider is mounted in development unless turned off."""
        if self.dev_idp is None:
            return self.env == Environment.development
        return self.dev_idp

    def check(self) -> None:
        """Refuse settings that would be unsafe in production."""
        if self.env != Environment.production:
            return
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            raise RuntimeError(
                "HUB_SECRET_KEY must be set to a random value of at least 32 characters "
                "when HUB_ENV=production."
            )
        if self.dev_idp_enabled:
            raise RuntimeError(
                "The development identity provider cannot run when HUB_ENV=production."
            )


@lru_cache
def get_settings() -> Settings:
    return Settings()
