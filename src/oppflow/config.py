"""Settings, read from the environment (prefix ``OPPFLOW_``) once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_path
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_LOCK_TIMEOUT_SECONDS = 5.0


def default_data_dir() -> Path:
    return user_data_path("oppflow", appauthor=False)


class Settings(BaseSettings):
    """Every setting of the product; each one can be set as ``OPPFLOW_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="OPPFLOW_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    access_token_minutes: int = 12 * 60
    api_token_days: int = 365
    sql_echo: bool = False
    # A statement waits this long for a lock another transaction holds (SQLite's write lock, a
    # PostgreSQL row or table lock), then fails: 409 over HTTP, a one-line error in the CLI.
    lock_timeout_seconds: float = Field(default=DEFAULT_LOCK_TIMEOUT_SECONDS, gt=0, le=600)
    # The tenth failed log-in in a row for one user name (or the 50th from one address) within
    # the window answers 429 until the window has passed.
    login_max_failures: int = 9
    login_max_failures_per_address: int = 50
    login_window_minutes: int = 15
    # Files attached to opportunities: stored content-addressed under this directory (default
    # <data_dir>/files), each upload at most this many bytes (413 beyond).
    files_dir: Path | None = None
    max_upload_bytes: int = 25 * 1024 * 1024
    # An import's file (API or page) may be larger than an attachment: a million rows of CSV
    # pass 100 MB. It is received as a stream, into the file store, whatever its size.
    max_import_bytes: int = Field(default=1024 * 1024 * 1024, ge=1)
    # Or on S3-compatible object storage, shared by every host: s3://bucket/prefix (the
    # endpoint of a store other than AWS in s3_endpoint_url; credentials from the usual AWS
    # variables). files_dir is then this host's cache of the immutable contents.
    files_url: str = ""
    s3_endpoint_url: str = ""
    # Import jobs finished this many days ago are deleted with their upload and report (by the
    # worker, hourly, and `oppflow files prune`), unless an attachment or a kept job shares
    # the content; 0 keeps them for ever.
    file_retention_days: int = Field(default=30, ge=0, le=36500)
    # With the pruning, remove the stored contents this database names nowhere. Only when
    # the directory or bucket prefix is this database's alone: turn it off where two
    # databases (staging and production, a restore drill) share one store.
    file_sweep: bool = True
    # An open opportunity is stale after this many days in its stage, or idle, unless its
    # stage says otherwise (stale_after_days in the process YAML; 0 = never).
    stale_after_days: int = Field(default=30, ge=0, le=3650)
    # Webhooks (docs/events.md): https only unless allowed; never to loopback, link-local or
    # private addresses except the names, addresses or CIDRs listed (comma-separated).
    webhook_allow_http: bool = False
    webhook_allowed_hosts: str = ""
    webhook_connect_timeout: float = Field(default=5.0, gt=0)
    webhook_read_timeout: float = Field(default=10.0, gt=0)
    webhook_max_response_bytes: int = Field(default=64 * 1024, ge=0)
    # Retries: base × 2^(attempt-1) seconds, at most the cap, with jitter, for the window.
    webhook_retry_base_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0)
    webhook_retry_window_hours: float = Field(default=24.0, gt=0)
    # A claimed delivery whose worker died is claimed again after the lease.
    webhook_lease_seconds: float = Field(default=60.0, gt=0)
    # Failed attempts in a row after which a subscription is disabled.
    webhook_disable_after: int = Field(default=50, ge=1)
    # E-mail (quotes sent to customers): smtp://user:pass@host:587?starttls=true, or
    # smtps://user:pass@host:465; empty = no e-mail (sending answers 503). Kept secret: the
    # URL holds the password. mail_from is the sender; default: the sending user's address.
    smtp_url: SecretStr = SecretStr("")
    mail_from: str = ""

    def resolved_database_url(self) -> str:
        """The configured URL, else an SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'oppflow.db'}"

    def resolved_files_dir(self) -> Path:
        """The configured files directory, else ``files`` in the data directory."""
        return self.files_dir or self.data_dir / "files"


@lru_cache
def get_settings() -> Settings:
    return Settings()
