"""The documents the OGC API returns, as pydantic models: they describe the pre-encoded bytes in the API
description (the bytes are not built from them, for speed) and the tests validate real responses against them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Link(BaseModel):
    """A link of an OGC API document."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    """The landing page document (OGC API - Common)."""

    title: str
    description: str | None = None
    links: list[Link]


class Conformance(BaseModel):
    """The conformance classes the service implements."""

    conformsTo: list[str]


class SpatialExtent(BaseModel):
    """Bounding boxes of a collection and the CRS of their coordinates."""

    bbox: list[list[float]]
    crs: str


class Extent(BaseModel):
    """The extent of a collection."""

    spatial: SpatialExtent


class CollectionInfo(BaseModel):
    """One collection's description; members beyond these (source, reference date…) are allowed."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: str
    description: str | None = None
    itemType: str = "feature"
    crs: list[str]
    storageCrs: str
    extent: Extent
    links: list[Link]


class Collections(BaseModel):
    """The collections document, with the CRSs they can be served in."""

    links: list[Link]
    crs: list[str]
    collections: list[CollectionInfo]


GeometryType = Literal[
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"
]


class Geometry(BaseModel):
    """A GeoJSON geometry (RFC 7946)."""

    type: GeometryType
    coordinates: list[Any] | None = None
    geometries: list[Geometry] | None = None


class Feature(BaseModel):
    """A GeoJSON feature; every feature served has a geometry (Part 1 1.0 schema)."""

    type: Literal["Feature"]
    id: str | int
    properties: dict[str, Any]
    geometry: Geometry
    links: list[Link] | None = None


class FeatureCollection(BaseModel):
    """A GeoJSON feature collection: a page of features with the numbers matched and returned."""

    type: Literal["FeatureCollection"]
    numberMatched: int = Field(ge=0)
    numberReturned: int = Field(ge=0)
    links: list[Link]
    features: list[Feature]


class Queryables(BaseModel):
    """A JSON Schema of a collection's properties (queryables and schema documents)."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(alias="$schema")
    id_: str = Field(alias="$id")
    type: Literal["object"]
    title: str
    properties: dict[str, dict[str, Any]]
    additionalProperties: bool


class ExceptionDocument(BaseModel):
    """An OGC API exception document."""

    code: str
    description: str
