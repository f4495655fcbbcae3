"""The one settings class: every knob ccm reads from the environment (``CCM_*``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Validated configuration; read once per process with :func:`get_settings`."""

    model_config = SettingsConfigDict(env_prefix="CCM_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///ccm.db",
        description="SQLAlchemy URL; SQLite file by default, PostgreSQL in production.",
    )
    data_max_bytes: int = Field(
        default=5 * 1024 * 1024, description="Largest JSON or XML data document accepted."
    )
    render_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Time budget of one template evaluation."
    )
    render_max_output_bytes: int = Field(
        default=4_000_000, gt=0, description="Most characters one template may produce."
    )
    demo_output_dir: Path = Field(default=Path("ccm-demo"))
    artifact_dir: Path = Field(
        default=Path("ccm-artifacts"),
        description="Folder where rendered documents are kept, content-addressed by SHA-256.",
    )
    api_max_body_bytes: int = Field(
        default=16 * 1024 * 1024, gt=0,
        description="Largest HTTP request body the API accepts (413 beyond it).",
    )
    render_executor: Literal["process", "inline"] = Field(
        default="process",
        description="Where the API renders single PDF documents: worker processes (every "
        "core) or the request thread.",
    )
    render_workers: int = Field(
        default=0, ge=0, description="PDF worker processes for the API; 0: one per core."
    )
    batch_max_items: int = Field(default=1000, gt=0, description="Most documents in one batch.")
    batch_workers: int = Field(
        default=0, ge=0,
        description="Batch worker processes or threads; 0 means one per CPU core.",
    )
    batch_executor: Literal["process", "thread"] = Field(
        default="process",
        description="Render batch items in worker processes (uses every core) or threads.",
    )
    batch_lease_seconds: float = Field(
        default=30.0, gt=0,
        description="How long a claimed batch item stays claimed without a heartbeat; after "
        "that another worker (or the restarted server) takes it over.",
    )
    idempotency_wait_seconds: float = Field(
        default=30.0, ge=0,
        description="How long a retry waits for the first request with its key to finish.",
    )
    studio_session_hours: float = Field(
        default=8, gt=0,
        description="How long a studio sign-in lasts; then the user signs in again.",
    )

    # -- journeys and delivery -----------------------------------------------------------
    events_unknown_customer: Literal["create", "refuse"] = Field(
        default="create",
        description="An event naming a customer ccm does not know: create a bare profile "
        "(contact points come later with PUT /v1/customers/{id}) or refuse the event.",
    )
    events_max_batch: int = Field(default=1000, gt=0, description="Most events in one request.")
    quiet_hours: str = Field(
        default="21:00-08:00",
        description="Local time (the customer's time zone) in which email and SMS wait; "
        "empty for none. A journey may set its own.",
    )
    marketing_cap: str = Field(
        default="3/7d",
        description="Most marketing sends per customer per period, across journeys "
        "(e.g. 3/7d); empty for no cap. A journey may set a stricter one.",
    )
    smtp_host: str = Field(default="127.0.0.1", description="Mail server for email sends.")
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    sms_provider_url: str | None = Field(
        default=None, description="The SMS provider's send endpoint (JSON POST).")
    sms_provider_token: str | None = Field(default=None, description="Bearer token for it.")
    print_spool_dir: Path = Field(
        default=Path("ccm-print-spool"),
        description="Folder where print sends land: PDFs and manifest.csv for the vendor.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where customers reach ccm: tracking, click and unsubscribe links.",
    )
    tracking_secret: str | None = Field(
        default=None,
        description="Key that signs tracking and unsubscribe links; made once and kept in "
        "the database when not set.",
    )
    webhook_secret: str | None = Field(
        default=None,
        description="Shared secret providers sign status callbacks with (HMAC-SHA256 of the "
        "body in X-CCM-Signature); callbacks are refused while it is unset.",
    )
    delivery_max_attempts: int = Field(default=6, gt=0,
                                       description="Tries before a send is failed.")
    delivery_backoff_seconds: float = Field(
        default=30.0, gt=0, description="Wait after the first failed try; doubles each time.")
    delivery_lease_seconds: float = Field(
        default=60.0, gt=0,
        description="How long a claimed send stays claimed; then another worker takes it.")
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    worker_batch_size: int = Field(default=50, gt=0, description="Sends claimed at a time.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
