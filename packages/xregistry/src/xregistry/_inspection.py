"""The registry's only door to ``xinspector``: generate a model, inspect a source.

Kept in one module so that the rest of the registry speaks in its own terms, and so that
``xinspector`` is imported only when a resource is actually inspected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from xregistry.errors import XRegistryError

if TYPE_CHECKING:
    from xresource import XResource

__all__ = ["generate_model", "inspect_resource"]


def _inspector(resource: XResource, categorical_threshold: int | None = None) -> Any:
    from xinspector import ProfileOptions, XInspector

    if categorical_threshold is None:
        return XInspector(resource)
    return XInspector(resource, options=ProfileOptions(categorical_threshold=categorical_threshold))


async def generate_model(resource: XResource, collection: str | None) -> type[BaseModel]:
    """The model ``XInspector`` generates for one table or collection of ``resource``."""
    model = await _inspector(resource).generate_model(collection)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise XRegistryError(
            f"XInspector returned {model!r} for {resource.display_name}, not a Pydantic model"
        )
    return model


async def inspect_resource(
    resource: XResource, collection: str | None, *, categorical_threshold: int | None = None
) -> Any:
    """``XInspector(resource).inspect(collection)``: an ``InspectionResult``."""
    return await _inspector(resource, categorical_threshold).inspect(collection)
