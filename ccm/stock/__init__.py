"""The stock brand, layouts, blocks and templates: what `ccm demo` and the tests use."""

from pathlib import Path

STOCK_DIR = Path(__file__).parent

__all__ = ["STOCK_DIR"]
