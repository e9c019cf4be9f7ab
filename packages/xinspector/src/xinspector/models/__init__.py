"""Models: Pydantic models (``XObjPrototype`` subclasses) from schemas, and their Python source.

- :func:`generate_model`, :func:`generate_joined_model`, :func:`joined_schema` — model classes
  built in memory from a schema (or from several joined on their foreign keys);
- :func:`schema_to_source`, :func:`model_to_source` — the same models as an importable module
  that needs pydantic and xobj-prototype only; :func:`model_to_source` also renders any other
  Pydantic model by introspecting its fields;
- :func:`model_name_for` — the class name a collection's model gets.
"""

from xinspector.models._generate import generate_joined_model, generate_model, joined_schema
from xinspector.models._names import model_name_for
from xinspector.models._source_model import model_to_source
from xinspector.models._source_spec import schema_to_source

__all__ = [
    "generate_joined_model",
    "generate_model",
    "joined_schema",
    "model_name_for",
    "model_to_source",
    "schema_to_source",
]
