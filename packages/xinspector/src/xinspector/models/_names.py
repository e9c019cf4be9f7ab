"""Python names for names from outside: attribute names of fields, class names of collections."""

from __future__ import annotations

import keyword
import re
import unicodedata

from pydantic import BaseModel

from xobj_prototype import XObjPrototype

__all__ = ["model_name_for", "python_name"]

_RESERVED = set(dir(BaseModel)) | set(dir(XObjPrototype)) | {"ns", "Meta"}


def python_name(name: str, taken: set[str]) -> str:
    """A valid, unused attribute name for a source field name (``Straße`` stays ``Straße``,
    ``naïve col`` becomes ``naïve_col``: Python identifiers hold letters of any script).

    NFKC first, as Python's parser normalises identifiers: the name written into generated
    source (``ﬁle`` would be read back as ``file``) is the name the model has in memory.
    """
    text = re.sub(r"\W+", "_", unicodedata.normalize("NFKC", name)).strip("_")
    if not text:
        text = "field"
    # Pydantic ignores attributes with a leading underscore: "_id" becomes "id".
    if not text.isidentifier():  # a digit or a combining mark first
        text = f"f_{text}"
    if not text.isidentifier():
        text = re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_") or "field"
    if keyword.iskeyword(text) or text in _RESERVED or text.startswith("model_"):
        text = f"{text}_"
    base, n = text, 2
    while text in taken:
        text = f"{base}_{n}"
        n += 1
    taken.add(text)
    return text


def model_name_for(collection: str) -> str:
    """A class name for a collection: ``invoice_line`` -> ``InvoiceLine``, ``käufer`` ->
    ``Käufer`` (letters of any script are kept: Python identifiers may hold them)."""
    parts = [p for p in re.split(r"[\W_]+", collection) if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    if not name.isidentifier():  # a digit or a mark first (\w holds both)
        name = f"M{name}"
    return name if name.isidentifier() else "Model"
