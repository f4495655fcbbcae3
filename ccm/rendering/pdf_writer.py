"""Each PDF object serialised once while the file is written.

ccm's PDFs carry a file identifier (PDF/A requires one, and ccm derives it from the
inputs so that identical inputs give identical files). For the identifier's second half
pydyf hashes every object's bytes, which it gets by serialising every object a second
time, streams compressed again at zlib's level 9: for a bill about a third of the time
spent writing the file. Nothing changes an object between the two passes, so the bytes
of the first pass can serve the second: :func:`serialise_once`, given to WeasyPrint as
its finisher, makes the document's objects keep the bytes they are first turned into.
The file is byte-identical (``tests/rendering/test_pdf_writer.py``).
"""

from __future__ import annotations

from typing import Any

import pydyf

_ONCE_CLASSES: dict[type, type] = {}


class _KeepsItsBytes:
    """Mixed into a pydyf object class: ``data`` is computed once, then kept."""

    @property
    def data(self) -> bytes:
        kept: bytes | None = self.__dict__.get("_ccm_bytes")
        if kept is None:
            kept = self.__dict__["_ccm_bytes"] = super().data  # type: ignore[misc]
        return kept


def _keep_bytes(obj: Any) -> None:
    cls = type(obj)
    if issubclass(cls, _KeepsItsBytes) or cls is pydyf.Object:
        return  # already done, or the free "zero" object that has no bytes
    once = _ONCE_CLASSES.get(cls)
    if once is None:
        once = _ONCE_CLASSES[cls] = type(cls.__name__, (_KeepsItsBytes, cls), {})
    obj.__class__ = once


class _WrittenOncePDF(pydyf.PDF):  # type: ignore[misc]
    """A pydyf document whose objects, including those ``write`` adds, keep their bytes."""

    def add_object(self, object_: Any) -> None:
        _keep_bytes(object_)
        super().add_object(object_)

    def write(self, output: Any, version: bytes = b"1.7", identifier: Any = False,
              compress: bool = False) -> None:
        for object_ in self.objects:
            _keep_bytes(object_)
        super().write(output, version, identifier, compress)


def serialise_once(document: Any, pdf: pydyf.PDF) -> None:
    """WeasyPrint finisher: the PDF about to be written serialises each object once."""
    if type(pdf) is pydyf.PDF:
        pdf.__class__ = _WrittenOncePDF
