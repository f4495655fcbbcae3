"""Where rendered documents are kept: content-addressed by SHA-256, so the exact bytes of any
communication can be fetched again and checked against the digest recorded for it."""

from ccm.artifacts.store import ArtifactStore, LocalArtifactStore, artifact_store_from_settings

__all__ = ["ArtifactStore", "LocalArtifactStore", "artifact_store_from_settings"]
