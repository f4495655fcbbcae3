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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
