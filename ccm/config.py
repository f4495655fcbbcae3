"""The one settings class: every knob ccm reads from the environment (``CCM_*``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
