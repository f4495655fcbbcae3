"""Artifact stores: a :class:`Protocol`, and a local folder as the embedded default."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from ccm.config import Settings, get_settings
from ccm.errors import ArtifactCorruptError, ArtifactError, NotFoundError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ArtifactStore(Protocol):
    """Bytes by their SHA-256. Putting the same bytes twice stores them once."""

    def put(self, content: bytes) -> str: ...

    def get(self, sha256: str) -> bytes: ...

    def exists(self, sha256: str) -> bool: ...

    def check(self) -> None:
        """Raise :class:`ArtifactError` unless the store can be written and read."""
        ...

    def describe(self) -> str: ...


def check_digest(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise NotFoundError(f"{sha256!r} is not a SHA-256 digest")
    return sha256


class LocalArtifactStore:
    """A folder: ``<root>/ab/cd/abcd…`` (two levels keep directories small)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        check_digest(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, content: bytes) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        path = self._path(sha256)
        if path.exists():
            return sha256
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write a temporary file beside the target, sync it, then rename: a reader never
            # sees half an artifact, and a crash leaves at most a stray temporary file.
            fd, partial = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(partial, path)
            except BaseException:
                Path(partial).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise ArtifactError(f"cannot store artifact {sha256}: {exc.strerror}") from exc
        return sha256

    def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"artifact {sha256} is not in the store") from None
        except OSError as exc:
            raise ArtifactError(f"cannot read artifact {sha256}: {exc.strerror}") from exc
        # Every read proves the bytes are the ones recorded: a changed file is an error,
        # never silently served.
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ArtifactCorruptError(
                f"artifact {sha256} was altered: its bytes no longer match their SHA-256"
            )
        return content

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def check(self) -> None:
        probe = b"ccm artifact store health probe\n"
        try:
            digest = self.put(probe)
            if self.get(digest) != probe:
                raise ArtifactError("artifact store returned other bytes than it was given")
        except ArtifactError:
            raise
        except NotFoundError as exc:
            raise ArtifactError(f"artifact store lost a probe it just stored: {exc}") from exc

    def describe(self) -> str:
        return f"folder {self.root}"


def artifact_store_from_settings(settings: Settings | None = None) -> ArtifactStore:
    settings = settings or get_settings()
    return LocalArtifactStore(settings.artifact_dir)
