"""Service settings, read once from the environment (see the README's configuration table)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")
MAX_TOKEN_TTL_SECONDS = 900
# The least the access log may be kept: five years and the leap day they hold (PDL 4 kap 3 §,
# HSLF-FS 2016:40 4 kap 9 §: access must be possible to follow up afterwards).
LOG_RETENTION_FLOOR_DAYS = 1827


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAMHANDLING_", extra="ignore", populate_by_name=True)

    environment: Literal["development", "production"] = Field(
        default="development",
        description="`production` refuses defaults that are only safe on a developer's machine.",
    )
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATA_DIR / 'samhandling.db'}",
        validation_alias=AliasChoices("DATABASE_URL", "SAMHANDLING_DATABASE_URL"),
    )
    port: int = Field(
        default=8000,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("SAMHANDLING_PORT", "PORT"),
        description="The port `samhandling serve` listens on (`--port` overrides it).",
    )
    issuer: str = Field(
        default="",
        description="Token `iss` and the base of the metadata URLs; default http://localhost:<port>.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For/-Proto/-Host "
        "are trusted (uvicorn's --forwarded-allow-ips); empty = none, the connection is taken as it is.",
    )
    cors_origins: str = Field(
        default="",
        description="Comma-separated origins (or `*`) browser-based tools may call the API from; empty = CORS off.",
    )
    audience: str = "samhandling"
    signing_key_file: Path = DEFAULT_DATA_DIR / "signing-key.pem"
    token_ttl: int = Field(default=300, ge=30, le=MAX_TOKEN_TTL_SECONDS)
    key_reload_interval_seconds: float = Field(
        default=5.0, ge=0, description="How often a process looks whether the signing-key files have changed."
    )
    key_publish_delay_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long a rotated key is in the JWKS before it signs tokens (the previous key signs until then).",
    )
    rate_limit_per_minute: int = Field(default=3000, ge=0)
    rate_limit_store: Literal["database", "process"] | None = Field(
        default=None,
        description="Where the per-client limit is kept: `database` (one limit across every process and host) "
        "or `process` (each process its own); default `database` on PostgreSQL, `process` on SQLite.",
    )
    webhook_allowlist: str = ""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    # Beyond the contract's table: limits and timeouts an operator may need to tune.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    auth_failures_per_minute: int = Field(
        default=10, ge=1, description="Failed client authentications per client_id and source address."
    )
    auth_failures_per_client_per_minute: int = Field(
        default=100, ge=1, description="Failed client authentications per client_id from all sources together."
    )
    auth_failures_per_address_per_minute: int = Field(default=0, ge=0, description="0 = off")
    anonymous_requests_per_minute: int = Field(
        default=120, ge=0, description="Requests without a valid access token per source address; 0 = off."
    )
    anonymous_denial_window_seconds: float = Field(
        default=10.0, ge=0, le=300, description="Identical anonymous denials within it become one entry; 0 = off."
    )
    http_body_timeout_seconds: float = Field(default=30.0, gt=0, description="The whole request body, or 408.")
    http_header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A connection's request headers, from its opening or the last response."
    )
    http_keep_alive_seconds: int = Field(default=5, ge=1, description="An idle connection after a response.")
    # Held, not churned: a worker serving ~16 concurrent requests needs about that many plus the log's
    # group committer and sequencer; connections beyond the pool (overflow) are closed on return, so
    # a pool smaller than the concurrency opens and throws away connections all the time (issue 23).
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout: float = Field(default=3.0, gt=0)
    db_connect_timeout: float = Field(default=3.0, gt=0)
    db_statement_timeout_ms: int = Field(default=10_000, ge=100)
    # `audit verify` walks the whole log (or a day of it) in statements that may each run far
    # longer than a request's: at 2×10⁸ entries its closing count alone outran the 10 s above.
    audit_verify_timeout_seconds: float = Field(
        default=300.0, gt=0, description="Statement timeout of `samhandling audit verify` (PostgreSQL)."
    )
    db_pgbouncer: bool = Field(
        default=False,
        description="The API and the worker reach PostgreSQL through pgbouncer in transaction pooling: no named "
        "prepared statements kept, only application_name and timezone sent at connect (README: pgbouncer).",
    )
    db_idle_in_transaction_timeout_ms: int = Field(
        default=5_000,
        ge=0,
        description="PostgreSQL ends an API or worker session idle this long inside a transaction; 0 = never.",
    )
    secrets_key_file: Path = Field(
        default=DEFAULT_DATA_DIR / "secrets.key",
        description="AES key (created by migrate) that encrypts webhook secrets at rest.",
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0)
    webhook_disable_after_seconds: float = Field(default=24 * 3600, gt=0)
    webhook_secret_grace_seconds: float = Field(
        default=24 * 3600,
        ge=0,
        description="After a secret rotation, how long the old secret still signs deliveries (beside the new).",
    )
    webhook_subscriptions_per_client: int = Field(default=20, ge=1, description="Subscriptions one client may hold.")
    webhook_concurrency: int = Field(
        default=16, ge=1, le=256, description="Subscriptions one worker delivers to at once."
    )
    webhook_concurrency_per_client: int = Field(
        default=4, ge=1, description="Subscriptions of one client delivered to at once, across all workers."
    )
    readiness_write_failure_seconds: float = Field(
        default=10.0,
        ge=0,
        description="`/readyz` is 503 while the last log commit failed within this and none succeeded since; 0 = off.",
    )
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    worker_shutdown_grace_seconds: float = Field(
        default=3.0,
        ge=0,
        le=60,
        description="On SIGTERM, how long the webhook attempts in flight may take before they are abandoned.",
    )
    events_max_wait_seconds: int = Field(
        default=30, ge=0, le=30, description="Cap on the feed's long poll (`wait`); the feed may answer sooner."
    )
    consent_max_years: int = Field(
        default=10, ge=1, le=100, description="How far ahead a consent's valid_until may lie, in years."
    )
    statistics_threshold: int = Field(
        default=5, ge=2, le=100, description="Counts below it, and medians over fewer values, are suppressed."
    )
    statistics_timezone: str = Field(
        default="Europe/Stockholm", description="Whose calendar months the statistics count in."
    )
    # Early-warning signals (issue 21): the rules' thresholds; `false` turns the feature off (the
    # benchmark compares a concern write with and without it).
    signals_enabled: bool = Field(default=True, description="Work out signals and publish `signal.raised`.")
    signals_window_days: int = Field(default=180, ge=1, le=3650, description="The window every rule looks back over.")
    signals_concern_count: int = Field(default=3, ge=1, description="`concerns_accumulating`: concerns in the window.")
    signals_agency_count: int = Field(default=2, ge=1, description="`several_agencies`: agencies raising them.")
    signals_compass_drop: int = Field(default=2, ge=1, le=4, description="`compass_drop`: fall between two ratings.")
    signals_compass_low_rating: int = Field(
        default=1, ge=0, le=5, description="`compass_drop`: a rating at or below this holds; 0 = never."
    )
    require_purpose_of_use: bool = Field(
        default=False, description="A read of child records without a Purpose-Of-Use code is 422."
    )
    # Log review (GET /api/v1/access-log/review): the rules' thresholds and the local working day.
    review_timezone: str = Field(default="Europe/Stockholm", description="The zone a review's date and hours are in.")
    review_working_hours_start: int = Field(default=7, ge=0, le=23, description="after_hours: before this hour.")
    review_working_hours_end: int = Field(default=18, ge=1, le=24, description="after_hours: from this hour on.")
    review_many_children: int = Field(default=20, ge=1, description="many_children: more children than this a day.")
    review_denial_burst: int = Field(default=10, ge=2, description="denial_burst: this many denials …")
    review_denial_burst_minutes: int = Field(default=10, ge=1, le=1440, description="… within these minutes.")
    # Retention (gallring, issue 24.2): days a record is kept after it was closed (or created,
    # for records without an end; see app/services/retention_rules.py). None keeps everything.
    # Signals are not stored (worked out at read time); the marks that `signal.raised` went out
    # go with their child.
    retention_concern_days: int | None = Field(
        default=None, ge=1, description="Concerns: days after completion, cancellation or rejection."
    )
    retention_consent_days: int | None = Field(
        default=None, ge=1, description="Consents: days after withdrawal or expiry."
    )
    retention_assessment_days: int | None = Field(default=None, ge=1, description="Assessments: days after recording.")
    retention_team_days: int | None = Field(default=None, ge=1, description="Teams: days after closing.")
    retention_plan_days: int | None = Field(default=None, ge=1, description="Plans: days after closing.")
    retention_child_days: int | None = Field(
        default=None, ge=1, description="Children with no records left: days after registration."
    )
    # The access log (app/audit/log_retention.py): whole months, on PostgreSQL.
    retention_access_log_days: int | None = Field(
        default=None,
        ge=LOG_RETENTION_FLOOR_DAYS,
        description="Access log: days after the end of a month before the month is dropped (at least 1827, 5 years).",
    )
    metrics_enabled: bool = True
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("review_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _issuer_from_port(self) -> Settings:
        """Unset, the issuer is where `samhandling serve` listens: tokens then verify on any port."""
        if not self.issuer:
            self.issuer = f"http://localhost:{self.port}"
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production_defaults(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        if not self.issuer.startswith("https://"):
            problems.append("SAMHANDLING_ISSUER must be an https:// URL in production")
        if self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL must name PostgreSQL in production")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def request_deadline_seconds(self) -> float:
        """How long a request may wait for the database in all: connect, one statement, the pool."""
        return self.db_connect_timeout + self.db_statement_timeout_ms / 1000 + self.db_pool_timeout

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def webhook_allowlist_entries(self) -> list[str]:
        return [entry.strip() for entry in self.webhook_allowlist.split(",") if entry.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
