"""CQL2 (text and JSON, parsed by pygeofilter) translated to SQLAlchemy expressions over a collection's columns.

Values travel as bound parameters; property names must be queryables. Geometry literals are read in the
filter CRS and transformed to the working CRS, so the spatial index on the stored geometry is used.
"""

from __future__ import annotations

import json
import operator
from typing import Any

from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text
from sqlalchemy import and_, between, bindparam, func, literal, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from api.ogc.errors import OGCError, bad_request
from geo.crs import CrsInfo
from geo.models import WORKING_SRID

COMPARISONS = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
SPATIAL = {
    "INTERSECTS": func.ST_Intersects,
    "DISJOINT": func.ST_Disjoint,
    "CONTAINS": func.ST_Contains,
    "WITHIN": func.ST_Within,
    "TOUCHES": func.ST_Touches,
    "CROSSES": func.ST_Crosses,
    "OVERLAPS": func.ST_Overlaps,
    "EQUALS": func.ST_Equals,
}


def geometry_literal(geojson: dict[str, Any], crs: CrsInfo) -> ColumnElement:
    """A GeoJSON geometry given in ``crs`` (its axis order) as a geometry in the working CRS."""
    shape = func.ST_GeomFromGeoJSON(bindparam(None, json.dumps(geojson)))
    if crs.northing_first:
        shape = func.ST_FlipCoordinates(shape)
    return func.ST_Transform(func.ST_SetSRID(shape, crs.srid), WORKING_SRID)


def envelope_literal(minx: float, miny: float, maxx: float, maxy: float, crs: CrsInfo) -> ColumnElement:
    """A box in ``crs`` axis order, densified by PostGIS when transformed to the working CRS."""
    if crs.northing_first:
        minx, miny, maxx, maxy = miny, minx, maxy, maxx
    box = func.ST_MakeEnvelope(
        bindparam(None, float(minx)),
        bindparam(None, float(miny)),
        bindparam(None, float(maxx)),
        bindparam(None, float(maxy)),
        crs.srid,
    )
    return func.ST_Transform(func.ST_Segmentize(box, 0.01 if crs.srid == 4326 else 1000.0), WORKING_SRID)


class SqlEvaluator(Evaluator):
    def __init__(self, columns: dict[str, ColumnElement], geometry: ColumnElement, crs: CrsInfo) -> None:
        self.columns = columns
        self.geometry = geometry
        self.crs = crs

    @handle(ast.Not)
    def negate(self, node: ast.Not, sub: ColumnElement) -> ColumnElement:
        return not_(sub)

    @handle(ast.And, ast.Or)
    def combine(self, node: ast.Node, lhs: ColumnElement, rhs: ColumnElement) -> ColumnElement:
        return and_(lhs, rhs) if isinstance(node, ast.And) else or_(lhs, rhs)

    @handle(ast.Comparison, subclasses=True)
    def compare(self, node: ast.Comparison, lhs: Any, rhs: Any) -> ColumnElement:
        return COMPARISONS[node.op.value](lhs, rhs)

    @handle(ast.Between)
    def within_range(self, node: ast.Between, lhs: Any, low: Any, high: Any) -> ColumnElement:
        expression = between(lhs, low, high)
        return not_(expression) if node.not_ else expression

    @handle(ast.Like)
    def like(self, node: ast.Like, lhs: Any) -> ColumnElement:
        expression = lhs.ilike(node.pattern) if node.nocase else lhs.like(node.pattern)
        return not_(expression) if node.not_ else expression

    @handle(ast.In)
    def member(self, node: ast.In, lhs: Any, *options: Any) -> ColumnElement:
        expression = lhs.in_([o.value if hasattr(o, "value") else o for o in options])
        return not_(expression) if node.not_ else expression

    @handle(ast.IsNull)
    def null(self, node: ast.IsNull, lhs: Any) -> ColumnElement:
        return lhs.is_not(None) if node.not_ else lhs.is_(None)

    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial(self, node: ast.SpatialComparisonPredicate, lhs: Any, rhs: Any) -> ColumnElement:
        return SPATIAL[node.op.name](lhs, rhs)

    @handle(ast.BBox)
    def bbox(self, node: ast.BBox, lhs: Any) -> ColumnElement:
        return func.ST_Intersects(lhs, envelope_literal(node.minx, node.miny, node.maxx, node.maxy, self.crs))

    @handle(ast.Attribute)
    def attribute(self, node: ast.Attribute) -> ColumnElement:
        if node.name in ("geometry", "geom"):
            return self.geometry
        if node.name not in self.columns:
            raise bad_request("filter", f"unknown property {node.name!r}; see the collection's queryables")
        return self.columns[node.name]

    @handle(*values.LITERALS)
    def value(self, node: Any) -> Any:
        return literal(node)

    @handle(values.Geometry)
    def geometry_value(self, node: values.Geometry) -> ColumnElement:
        return geometry_literal(node.geometry, self.crs)

    @handle(values.Envelope)
    def envelope_value(self, node: values.Envelope) -> ColumnElement:
        return envelope_literal(node.x1, node.y1, node.x2, node.y2, self.crs)

    def adopt(self, node: Any, *sub_args: Any) -> Any:
        raise bad_request("filter", f"unsupported CQL2 construct {type(node).__name__}")


def to_sql(
    text: str, language: str, columns: dict[str, ColumnElement], geometry: ColumnElement, crs: CrsInfo
) -> ColumnElement:
    """Parse a CQL2 filter (``cql2-text`` or ``cql2-json``) into a WHERE clause."""
    try:
        tree = parse_text(text) if language == "cql2-text" else parse_json(json.loads(text))
    except Exception as exc:  # the parsers raise lark and JSON errors of many kinds
        raise bad_request("filter", f"invalid {language}: {str(exc).splitlines()[0]}") from exc
    try:
        return SqlEvaluator(columns, geometry, crs).evaluate(tree)
    except OGCError:
        raise
    except Exception as exc:
        raise bad_request("filter", f"cannot apply the filter: {exc}") from exc
