"""Fixtures for rendering tests: a renderer with tight budgets and the stock brand."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from ccm.rendering.engine import BudgetLimits, Renderer
from ccm.rendering.service import resolve_specs
from ccm.rendering.spec import BrandSpec


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(BudgetLimits(seconds=1.0, max_output_chars=200_000))


@pytest.fixture
def brand(session: Session) -> BrandSpec:
    return resolve_specs(session, "utility-bill")[1]
