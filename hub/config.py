"""Settings read from HUB_* environment variables, and the checks that guard production."""

from enum import StrEnum
from functools import lru_cache
from urllib.parse import urlsplit

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
    # Rate-limit counters live in Redis when this is set (redis://host:6379/0), so every
    # worker process and host shares them; else in the database. A Redis outage falls back
    # to the database for each call it affects, so the hub stays up.
    redis_url: str = ""
    # Prepended to every counter's key in Redis: hubs sharing one Redis keep apart.
    redis_rate_limit_prefix: str = "hub:rl:"
    # Sign-in attempts allowed per window: per client address, and per e-mail address from
    # one client address (never per e-mail alone, which would let anyone lock a member out).
    # A window is at most a day: the database forgets day-old counters.
    login_attempts_per_ip: int = Field(default=30, ge=1)
    login_attempts_per_email: int = Field(default=10, ge=1)
    login_attempt_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Searches per minute: search-as-you-type sends one per pause in typing, so a person
    # needs room; a client address may be a whole office behind one NAT.
    searches_per_minute_per_person: int = Field(default=120, ge=1)
    searches_per_minute_per_ip: int = Field(default=600, ge=1)
    # Evidence files a person may upload per hour, on new reports and added to old ones.
    evidence_files_per_hour_per_person: int = Field(default=200, ge=1)
    # Outgoing mail: smtp://host:port, smtp+starttls://user:password@host:587 or
    # smtps://user:password@host:465. Empty: mail waits in the outbox until it is set.
    smtp_url: str = ""
    mail_from: str = "Alliance Hub <hub@localhost>"
    # Add `X-Queries` (SQL statements run) to every response: for benchmarks and tests.
    count_queries: bool = False
    # Calls each API token may make per minute; more get 429 with Retry-After.
    api_requests_per_minute: int = Field(default=300, ge=1)
    # Calls with a token per minute from one client address, whatever the tokens: one
    # source cannot multiply its rate with many tokens, nor try tokens at will.
    api_requests_per_minute_per_ip: int = Field(default=1200, ge=1)
    # How long each process keeps the impact figures before counting them again (a year
    # of a million reports takes seconds to count): those every member shares, and each
    # viewer's own AMBER+STRICT and RED rows apart. Unset: 300, and 0 in tests.
    impact_cache_seconds: int | None = Field(default=None, ge=0)

    @property
    def impact_cache_ttl(self) -> int:
        if self.impact_cache_seconds is not None:
            return self.impact_cache_seconds
        return 0 if self.env == Environment.test else 300

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
        host = urlsplit(self.base_url).hostname or ""
        if not self.secure_cookies and host not in LOOPBACK_HOSTS:
            # Over plain http the session cookie could not be Secure: only a hub that
            # nobody reaches from another machine (a benchmark, a smoke test) may do that.
            raise RuntimeError(
                "HUB_BASE_URL must be an https:// address when HUB_ENV=production "
                f"(it is {self.base_url!r}); plain http is allowed only on 127.0.0.1 or localhost."
            )


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@lru_cache
def get_settings() -> Settings:
    return Settings()
