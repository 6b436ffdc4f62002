"""A model's JSON Schemas, made from its fields: the document as the API answers it, and what a
create, a replace or a partial update takes, with an example body."""

from __future__ import annotations

from typing import Any

from models.fields import Boolean, DateTime, Field, Integer, Number, String
from models.model import ID_PATTERN, Model

ID_SCHEMA = {"type": "string", "pattern": ID_PATTERN.pattern,
             "description": "1-64 letters, digits, '-' or '_'; made where the object is created"}
# What str.strip() removes (str.isspace), spelled out: JSON Schema's \s is another set.
NOT_ONLY_SPACE = ("[^\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029"
                  "\u202f\u205f\u3000]")


def _field_schemas(model: type[Model]) -> dict[str, Any]:
    properties = {}
    for name, field in model.fields.items():
        schema = field.schema()
        if name == "id":
            schema = {**ID_SCHEMA}
        elif isinstance(field, String) and field.trim and field.min_length:
            schema["pattern"] = NOT_ONLY_SPACE  # trimmed first: blank is empty
        properties[name] = schema
    return properties


def model_schema(model: type[Model]) -> dict[str, Any]:
    """A document as the API answers it: every field, its id and `_rev`."""
    properties = _field_schemas(model)
    properties["_rev"] = {"type": "string", "readOnly": True,
                          "description": "Revision; send it back in If-Match to update safely"}
    return {
        "type": "object",
        "properties": properties,
        "required": sorted({"id", "_rev", *(n for n, f in model.fields.items() if f.required)}),
        "additionalProperties": False,
    }


def input_schema(model: type[Model], *, partial: bool = False,
                 replacing: bool = False) -> dict[str, Any]:
    """What a create (or, `replacing`, a PUT; `partial`, a PATCH) takes: the fields a client may
    send, required only when they have no default. Read-only fields are replaced by the
    server's, and `_rev` is ignored (the revision travels in If-Match)."""
    properties = _field_schemas(model)
    if replacing:
        del properties["id"]  # the URL names it (an id in the body must be the same)
    properties["_rev"] = {"description": "Ignored, whatever it is: the revision travels in "
                                         "If-Match"}
    required = [] if partial else sorted(
        n for n, f in model.fields.items() if f.required and f.default is None)
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        "description": "Any subset of the fields" if partial else
                       "The fields; those left out take their defaults",
    }


def example_value(name: str, field: Field) -> Any:
    if isinstance(field, Boolean):
        return False
    if isinstance(field, (Integer, Number)):
        return 1
    if isinstance(field, DateTime):
        return "2024-01-01T00:00:00.000Z"
    if isinstance(field, String):
        return "Buy milk" if name == "title" else f"some {name}"
    return None


def example_body(model: type[Model]) -> dict[str, Any]:
    return {name: example_value(name, field) for name, field in model.fields.items()
            if field.required and not field.read_only}


def model_schemas(model: type[Model]) -> dict[str, Any]:
    """The four schemas of one model, named after it."""
    name = model.__name__
    return {name: model_schema(model), f"{name}Input": input_schema(model),
            f"{name}Replace": input_schema(model, replacing=True),
            f"{name}Patch": input_schema(model, partial=True, replacing=True)}
