"""The API description: OpenAPI 3.0 (the ``oas30`` class the service declares), built once per process.

FastAPI writes OpenAPI 3.1 from the routes; this module rewrites the few 3.1 constructs it uses into their 3.0
form, declares the response documents of the OGC resources (``api.ogc.models``) with their media types, gives
``limit`` its default and maximum from the settings, and adds a path per collection naming the collection's
properties as query parameters, so that clients (GDAL) send simple property filters to the server.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.ogc import models
from api.ogc.collections import COLLECTIONS
from geo.settings import Settings

MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
VERSION = "3.0.3"
GEOJSON = "application/geo+json"
JSON = "application/json"
SCHEMA_JSON = "application/schema+json"
REF = "#/components/schemas/{model}"

# path → (document, media type) of the 200 answer
DOCUMENTS: dict[str, tuple[type[BaseModel], str]] = {
    "/": (models.LandingPage, JSON),
    "/conformance": (models.Conformance, JSON),
    "/collections": (models.Collections, JSON),
    "/collections/{collection_id}": (models.CollectionInfo, JSON),
    "/collections/{collection_id}/queryables": (models.Queryables, SCHEMA_JSON),
    "/collections/{collection_id}/schema": (models.Queryables, SCHEMA_JSON),
    "/collections/{collection_id}/items": (models.FeatureCollection, GEOJSON),
    "/collections/{collection_id}/items/{feature_id}": (models.Feature, GEOJSON),
}
HTML = "text/html"
# other representations of a resource (f=html, file downloads of items)
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "/collections/{collection_id}/items": (
        HTML,
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/geopackage+sqlite3",
    ),
}
ERRORS = {
    "400": "A parameter is invalid, or given more than once; the description names it.",
    "401": "An API key is needed, or the one given is unknown.",
    "403": "The API key's role does not allow this.",
    "404": "No such resource.",
    "429": "Too many wrong API keys from this address; retry after the Retry-After header's seconds.",
    "500": "The service failed.",
    "503": "The data store is unreachable, the request took too long, or the service is busy; retry after the "
    "Retry-After header's seconds.",
}
CONFLICT = (  # answered by pages only: a next link's data version that a new load has replaced
    "The data changed since this paging started (the version of a next link is no longer the data's); start again "
    "from the first page."
)
KEYED = ("401", "403", "429")  # answered where a key is checked: not by the operations' own probes
UNKEYED = frozenset({"/health", "/ready"})
NOT_FOUND = ("/maps/coverage", "/maps/schools", "/maps/priorities", "/downloads/")  # 404 without a path parameter


def _served_errors(path: str) -> dict[str, str]:
    """The error statuses an operation can answer, with their description."""
    errors = dict(ERRORS)
    if path in UNKEYED:
        for status in (*KEYED, "404"):
            errors.pop(status)
    elif "{" not in path and not path.startswith(NOT_FOUND):
        errors.pop("404")
    if path == "/health":
        errors.pop("503")  # liveness answers without the store
    if path.endswith("/items"):
        errors["409"] = CONFLICT
    return errors


def to_openapi30(node: Any) -> Any:
    """A JSON Schema / OpenAPI 3.1 fragment in its OpenAPI 3.0 form (nullable, enum, example)."""
    if isinstance(node, list):
        return [to_openapi30(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: to_openapi30(value) for key, value in node.items()}
    for key in ("anyOf", "oneOf"):
        options = result.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [option for option in options if option != {"type": "null"}]
            del result[key]
            if len(rest) == 1 and "$ref" not in rest[0]:
                result = {**rest[0], **result}
            elif len(rest) == 1:
                result["allOf"] = rest
            else:
                result[key] = rest
            result["nullable"] = True
    if isinstance(result.get("type"), list):
        types = [t for t in result["type"] if t != "null"]
        if len(types) < len(result["type"]):
            result["nullable"] = True
        result["type"] = types[0] if len(types) == 1 else types
    if "const" in result:
        result["enum"] = [result.pop("const")]
    if isinstance(result.get("examples"), list) and "in" not in result:
        examples = result.pop("examples")
        if examples:
            result["example"] = examples[0]
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(result.get(bound), int | float) and not isinstance(result.get(bound), bool):
            result[inclusive] = result.pop(bound)
            result[bound] = True
    for key in ("$schema", "contentMediaType", "contentEncoding"):
        result.pop(key, None)
    return result


def _components() -> dict[str, Any]:
    mode: Literal["validation", "serialization"] = "serialization"
    documents = [(model, mode) for model, _ in DOCUMENTS.values()]
    documents.append((models.ExceptionDocument, mode))
    _, top = models_json_schema(documents, ref_template=REF)
    return dict(top.get("$defs", {}))


def _responses(path: str, document: type[BaseModel] | None, media_type: str) -> dict[str, Any]:
    error = {
        JSON: {"schema": {"$ref": REF.format(model="ExceptionDocument")}},
        HTML: {"schema": {"type": "string"}},  # the same document as a page, for a browser
    }
    errors = _served_errors(path)
    responses: dict[str, Any] = {code: {"description": text, "content": error} for code, text in errors.items()}
    if document is not None:
        content: dict[str, Any] = {media_type: {"schema": {"$ref": REF.format(model=document.__name__)}}}
        for other in ALTERNATIVES.get(path, (HTML,)):
            content[other] = {"schema": {"type": "string", "format": "binary"}}
        responses["200"] = {"description": document.__doc__ or document.__name__, "content": content}
    return responses


def _limit(settings: Settings) -> dict[str, Any]:
    return {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"Features per page (default {settings.items_default_limit}; a larger value than "
        f"{settings.items_max_limit} is served as {settings.items_max_limit}).",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": settings.items_max_limit,
            "default": settings.items_default_limit,
        },
    }


def _collection_paths(items: dict[str, Any], feature: dict[str, Any]) -> dict[str, Any]:
    """One items path and one feature path per collection, with its properties as query parameters."""
    paths: dict[str, Any] = {}
    for collection in COLLECTIONS.values():
        operation = copy.deepcopy(items)
        operation["operationId"] = f"items_{collection.id.replace('-', '_')}"
        operation["summary"] = f"{collection.title}: features"
        operation["parameters"] = [p for p in operation["parameters"] if p["name"] != "collection_id"] + [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": f"Features whose {name} equals the value (repeat the parameter for any of several)",
                "schema": collection.schema(name),
            }
            for name in collection.properties
        ]
        one = copy.deepcopy(feature)
        one["operationId"] = f"feature_{collection.id.replace('-', '_')}"
        one["summary"] = f"{collection.title}: one feature"
        one["parameters"] = [p for p in one["parameters"] if p["name"] != "collection_id"]
        paths[f"/collections/{collection.id}/items"] = {"get": operation}
        paths[f"/collections/{collection.id}/items/{{feature_id}}"] = {"get": one}
    return paths


def build(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The API description of ``app``."""
    spec = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=VERSION,
        description=app.description,
        routes=app.routes,
    )
    spec = to_openapi30(spec)
    spec.setdefault("components", {}).setdefault("schemas", {}).update(to_openapi30(_components()))
    for schemas in ("HTTPValidationError", "ValidationError"):
        spec["components"]["schemas"].pop(schemas, None)
    for path, methods in spec["paths"].items():
        for operation in methods.values():
            document = DOCUMENTS.get(path)
            operation["responses"].pop("422", None)  # invalid input is a 400 exception document
            declared = dict(operation["responses"])
            operation["responses"].update(_responses(path, *(document or (None, JSON))))
            if document is None:
                operation["responses"].update(declared)
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "limit" and path.endswith("/items"):
                    parameter.update(_limit(settings))
    items = spec["paths"]["/collections/{collection_id}/items"]["get"]
    feature = spec["paths"]["/collections/{collection_id}/items/{feature_id}"]["get"]
    spec["paths"].update(_collection_paths(items, feature))
    return spec
