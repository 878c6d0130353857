"""CQL2 filters (text or JSON) as SQLAlchemy expressions over a collection's columns.

The ``cql2`` package parses and validates both encodings into CQL2 JSON; this module translates that tree,
checking types against the columns: a property compared with a value of another type, an unknown property or
function, or a construct outside the declared conformance classes is a 400 naming it. Values travel as bound
parameters, never as SQL text. Geometry literals are read in the filter CRS (see ``api.ogc.spatial``).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cql2
from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    and_,
    between,
    bindparam,
    func,
    literal,
    not_,
    or_,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from api.ogc import spatial
from api.ogc.collections import Identifier64
from api.ogc.errors import OGCError, bad_request
from geo.crs import CrsInfo

CONFORMANCE = (
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
)
COMPARISONS: dict[str, Callable[[Any, Any], ColumnElement]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
SPATIAL = {
    "s_intersects": func.ST_Intersects,
    "s_disjoint": func.ST_Disjoint,
    "s_contains": func.ST_Contains,
    "s_within": func.ST_Within,
    "s_touches": func.ST_Touches,
    "s_crosses": func.ST_Crosses,
    "s_overlaps": func.ST_Overlaps,
    "s_equals": func.ST_Equals,
}
UNDECLARED = {
    "t_": "temporal functions",
    "a_": "array functions",
    "accenti": "accent-insensitive comparison (ACCENTI)",
    "+": "arithmetic",
    "-": "arithmetic",
    "*": "arithmetic",
    "/": "arithmetic",
    "%": "arithmetic",
    "^": "arithmetic",
    "div": "arithmetic",
}
KIND_NAMES = {
    "string": "text",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "date": "a date",
    "timestamp": "a timestamp",
    "geometry": "a geometry",
}


def kind_of(column_type: TypeEngine) -> str:
    """The CQL2 type of a column: string, integer, number, boolean, date, timestamp or geometry."""
    if getattr(column_type, "impl_instance", None) is not None:  # a TypeDecorator: the type stored
        column_type = column_type.impl_instance  # type: ignore[attr-defined]
    for sql_type, kind in (
        (Geometry, "geometry"),
        (Boolean, "boolean"),
        (BigInteger, "integer"),
        (Integer, "integer"),
        (Float, "number"),
        (DateTime, "timestamp"),
        (Date, "date"),
        (String, "string"),
    ):
        if isinstance(column_type, sql_type):
            return kind
    return "string"


@dataclass(frozen=True)
class Operand:
    """One side of a predicate: a column expression, or a Python literal bound once its counterpart is known."""

    kind: str
    sql: ColumnElement | None = None
    value: Any = None
    name: str = ""  # the property, for messages

    @property
    def described(self) -> str:
        """How messages name the operand: its property or value, and its type."""
        value = self.value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            value = int(value)  # the parser reads every number as a float; show what the client wrote
        what = f"property {self.name!r}" if self.name else f"the value {value!r}"
        return f"{what} ({KIND_NAMES.get(self.kind, self.kind)})"


def _date(text: str, kind: str) -> dt.date | dt.datetime:
    try:
        if kind == "date":
            return dt.date.fromisoformat(text)
        stamp = dt.datetime.fromisoformat(text)
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise bad_request("filter", f"{text!r} is not a valid {kind} (use ISO 8601, e.g. 2025-06-30)") from exc


COMPATIBLE = {
    frozenset({"integer", "number"}),
    frozenset({"date", "timestamp"}),
}


def _compatible(left: str, right: str) -> bool:
    return left == right or frozenset({left, right}) in COMPATIBLE


class Translator:
    """Translates one parsed filter; ``columns`` are the queryables, ``geometry`` the collection's geometry."""

    def __init__(self, columns: dict[str, ColumnElement], geometry: ColumnElement, crs: CrsInfo) -> None:
        self.columns = columns
        self.geometry = geometry
        self.crs = crs

    # predicates --------------------------------------------------------------------------------------------------
    def predicate(self, node: Any) -> ColumnElement:
        """The SQL condition of a parsed CQL2 node; a 400 naming the fault when it is no condition or its operands do
        not fit."""
        if isinstance(node, bool):
            return literal(node)
        if isinstance(node, dict) and "property" in node:
            operand = self.operand(node)
            if operand.kind != "boolean":
                raise bad_request("filter", f"{operand.described} is not a condition")
            return operand.sql  # type: ignore[return-value]
        if not isinstance(node, dict) or "op" not in node:
            raise bad_request("filter", f"{node!r} is not a condition")
        op, args = str(node["op"]).lower(), list(node.get("args", []))
        if op in ("and", "or"):
            parts = [self.predicate(arg) for arg in args]
            return and_(*parts) if op == "and" else or_(*parts)
        if op == "not":
            return not_(self.predicate(self._one(args, op)))
        if op in COMPARISONS:
            left, right = self._pair(args, op)
            return COMPARISONS[op](*self._bind_pair(left, right))
        if op == "isnull":
            operand = self.operand(self._one(args, op))
            if operand.sql is None:
                return literal(operand.value is None)
            return operand.sql.is_(None)
        if op == "like":
            return self._like(args)
        if op == "between":
            return self._between(args)
        if op == "in":
            return self._in(args)
        if op in SPATIAL:
            left, right = self._pair(args, op)
            for side in (left, right):
                if side.kind != "geometry":
                    raise bad_request("filter", f"{op.upper()} takes geometries; {side.described} is not one")
            return SPATIAL[op](left.sql, right.sql)
        raise self._unsupported(op)

    def _like(self, args: list[Any]) -> ColumnElement:
        left, right = self._pair(args, "like")
        if left.kind != "string" or right.kind != "string":
            raise bad_request("filter", "LIKE compares text with a text pattern")
        if right.sql is None:
            pattern = str(right.value)
            trailing = len(pattern) - len(pattern.rstrip("\\"))
            if trailing % 2:
                raise bad_request("filter", f"the LIKE pattern {pattern!r} ends with a lone escape character")
            right = Operand("string", bindparam(None, pattern, type_=String))
        if left.sql is None:
            left = Operand("string", bindparam(None, str(left.value), type_=String))
        return left.sql.like(right.sql)  # type: ignore[union-attr]

    def _between(self, args: list[Any]) -> ColumnElement:
        if len(args) != 3:
            raise bad_request("filter", "BETWEEN takes a value, a lower and an upper bound")
        subject, low, high = (self.operand(arg) for arg in args)
        if subject.kind in ("geometry", "boolean"):
            raise bad_request("filter", f"BETWEEN needs numbers, dates or text; {subject.described} is not")
        subject_sql, low_sql = self._bind_pair(subject, low)
        _, high_sql = self._bind_pair(subject, high)
        return between(subject_sql, low_sql, high_sql)

    def _in(self, args: list[Any]) -> ColumnElement:
        if len(args) != 2 or not isinstance(args[1], list) or not args[1]:
            raise bad_request("filter", "IN takes a value and a non-empty list")
        subject = self.operand(args[0])
        options = [self._bind_pair(subject, self.operand(option))[1] for option in args[1]]
        subject_sql = self._bind_pair(subject, self.operand(args[1][0]))[0]
        return subject_sql.in_(options)

    # operands ----------------------------------------------------------------------------------------------------
    def operand(self, node: Any) -> Operand:
        """The operand a parsed CQL2 node stands for: a literal, property, date, timestamp, bbox, geometry or CASEI; a
        400 when unsupported."""
        if isinstance(node, bool):
            return Operand("boolean", value=node)
        if isinstance(node, int | float):
            return Operand("number", value=node)
        if isinstance(node, str):
            return Operand("string", value=node)
        if isinstance(node, list):
            raise bad_request("filter", "a list may only follow IN")
        if not isinstance(node, dict):
            raise bad_request("filter", f"unsupported value {node!r}")
        if "property" in node:
            return self._property(str(node["property"]))
        if "date" in node:
            return Operand("date", value=_date(str(node["date"]), "date"))
        if "timestamp" in node:
            return Operand("timestamp", value=_date(str(node["timestamp"]), "timestamp"))
        if "bbox" in node:
            numbers = [float(v) for v in node["bbox"]]
            if len(numbers) == 6:
                numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
            if len(numbers) != 4:
                raise bad_request("filter", "BBOX takes 4 (or 6) numbers")
            minx, miny, maxx, maxy = numbers
            return Operand("geometry", spatial.envelope(minx, miny, maxx, maxy, self.crs, "filter"))
        if "type" in node and ("coordinates" in node or "geometries" in node):
            return Operand("geometry", spatial.geojson(node, self.crs, "filter"))
        if "interval" in node:
            raise self._unsupported("interval")
        if "op" in node:
            op = str(node["op"]).lower()
            if op == "casei":
                inner = self.operand(self._one(list(node.get("args", [])), op))
                if inner.kind != "string":
                    raise bad_request("filter", f"CASEI takes text; {inner.described} is not")
                if inner.sql is None:
                    return Operand("string", value=str(inner.value).lower())
                return Operand("string", func.lower(inner.sql), name=inner.name)
            raise self._unsupported(op)
        raise bad_request("filter", f"unsupported value {node!r}")

    def _property(self, name: str) -> Operand:
        if name in ("geometry", "geom") or self.geometry.key == name:
            return Operand("geometry", self.geometry, name=name)
        column = self.columns.get(name)
        if column is None:
            raise bad_request("filter", f"unknown property {name!r}; see the collection's queryables")
        return Operand(kind_of(column.type), column, name=name)

    def _bind_pair(self, left: Operand, right: Operand) -> tuple[ColumnElement, ColumnElement]:
        """Both sides as SQL, literals bound with the type of the other side; 400 when the types differ."""
        left, right = self._coerce(left, right), self._coerce(right, left)
        if not _compatible(left.kind, right.kind):
            raise bad_request("filter", f"type mismatch: {left.described} is compared with {right.described}")
        if left.kind == "geometry":
            raise bad_request("filter", "geometries are compared with spatial functions (S_INTERSECTS, …)")
        return self._sql(left), self._sql(right)

    @staticmethod
    def _coerce(side: Operand, other: Operand) -> Operand:
        """A text literal compared with a date or timestamp is read as one (QGIS sends ``ref_date = '2025-06-30'``),
        and with a 64-bit identifier (served as text) as an integer."""
        if side.sql is None and side.kind == "string" and other.kind in ("date", "timestamp"):
            return Operand(other.kind, value=_date(side.value, other.kind))
        if side.sql is None and side.kind == "string" and isinstance(getattr(other.sql, "type", None), Identifier64):
            if not side.value.lstrip("-").isdigit() or len(side.value) > 19:
                raise bad_request("filter", f"{other.described} holds integers; {side.value!r} is not one")
            return Operand("number", value=int(side.value))
        return side

    @staticmethod
    def _sql(side: Operand) -> ColumnElement:
        if side.sql is not None:
            return side.sql
        value = side.value
        types: dict[str, TypeEngine] = {
            "string": String(),
            "boolean": Boolean(),
            "date": Date(),
            "timestamp": DateTime(timezone=True),
        }
        if side.kind == "number":
            integral = isinstance(value, int) or (float(value).is_integer() and abs(value) < 2**63)
            return bindparam(None, int(value), type_=BigInteger()) if integral else bindparam(None, value, Float())
        return bindparam(None, value, type_=types[side.kind])

    def _pair(self, args: list[Any], op: str) -> tuple[Operand, Operand]:
        if len(args) != 2:
            raise bad_request("filter", f"{op.upper()} takes two arguments")
        return self.operand(args[0]), self.operand(args[1])

    @staticmethod
    def _one(args: list[Any], op: str) -> Any:
        if len(args) != 1:
            raise bad_request("filter", f"{op.upper()} takes one argument")
        return args[0]

    @staticmethod
    def _unsupported(op: str) -> OGCError:
        for prefix, what in UNDECLARED.items():
            if op == prefix or (prefix.endswith("_") and op.startswith(prefix)):
                return bad_request("filter", f"{op.upper()}: {what} are not supported by this service")
        return bad_request("filter", f"unknown function {op!r}; see /conformance for the CQL2 classes supported")


def nesting(text: str) -> int:
    """The deepest parenthesis level of a CQL2 text filter, string literals left out."""
    depth = deepest = 0
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted  # a doubled quote inside a literal closes and reopens it: the same for counting
        elif not quoted and char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif not quoted and char == ")":
            depth -= 1
    return deepest


def parse(text: str, language: str) -> Any:
    """The filter as a CQL2 JSON tree, parsed and validated by the ``cql2`` package."""
    try:
        expression = cql2.parse_text(text) if language == "cql2-text" else cql2.parse_json(text)
        return expression.to_json()
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__  # the parser's caret diagram, on one line
        raise bad_request("filter", f"invalid {language}: {message[:300]}") from exc


def to_sql(
    text: str, language: str, columns: dict[str, ColumnElement], geometry: ColumnElement, crs: CrsInfo
) -> ColumnElement:
    """Parse a CQL2 filter (``cql2-text`` or ``cql2-json``) into a WHERE clause."""
    return Translator(columns, geometry, crs).predicate(parse(text, language))
