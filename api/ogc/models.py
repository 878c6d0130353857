"""The documents the OGC API returns, as pydantic models: they describe the pre-encoded bytes in the API
description (the bytes are not built from them, for speed) and the tests validate real responses against them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    title: str
    description: str | None = None
    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]


class SpatialExtent(BaseModel):
    bbox: list[list[float]]
    crs: str


class Extent(BaseModel):
    spatial: SpatialExtent


class CollectionInfo(BaseModel):
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
    type: Literal["FeatureCollection"]
    numberMatched: int = Field(ge=0)
    numberReturned: int = Field(ge=0)
    links: list[Link]
    features: list[Feature]


class Queryables(BaseModel):
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
