"""Loading the registry from a folder of plain files (``ccm registry load DIR``)."""

from ccm.registry.loader import LoadReport, load_registry

__all__ = ["LoadReport", "load_registry"]
