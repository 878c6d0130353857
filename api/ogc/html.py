"""HTML views of the OGC API resources for people in a browser (``f=html``, or ``Accept: text/html`` without
``f``): the same documents the JSON clients get, rendered in Italian with local assets and no inline script."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from jinja2 import Environment, PackageLoader, select_autoescape

from api.http import Encoded, base_url
from api.ogc.collections import Collection
from geo import italian
from maps.static import LEAFLET_URL

STATIC_URL = "/static/areavasta"
MEDIA_TYPE = "text/html; charset=utf-8"
# scripts only from the service itself; Leaflet sets inline styles; no form may post elsewhere, no base address may
# redirect the page's links, and only the service may frame it
POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)
LINK_LABELS = {
    "self": "Questa pagina",
    "service-desc": "Descrizione dell'API (OpenAPI 3.0)",
    "service-doc": "Documentazione interattiva dell'API",
    "conformance": "Classi di conformità",
    "data": "Collezioni di dati",
}

_environment = Environment(loader=PackageLoader("api", "templates"), autoescape=select_autoescape(default=True))


def wants_html(request: Request, f: str | None) -> bool:
    """``f=html``, or a browser's Accept header (text/html before any JSON type) when ``f`` is absent."""
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    html = accept.find("text/html")
    json_types = [i for i in (accept.find("json"),) if i >= 0]
    return html >= 0 and (not json_types or html < min(json_types))


def _render(request: Request, template: str, title: str, crumbs: list[dict[str, str]], **context: Any) -> Encoded:
    json_url = str(request.url.include_query_params(f="json"))
    alternates = [{"href": json_url, "type": "application/json", "label": "JSON"}]
    body = _environment.get_template(template).render(
        title=title,
        crumbs=crumbs,
        base=base_url(request),
        leaflet=LEAFLET_URL,
        static=STATIC_URL,
        alternates=alternates,
        **context,
    )
    return Encoded.of(body, MEDIA_TYPE, {"Content-Security-Policy": POLICY})


def _crumbs(request: Request, collection: Collection | None = None, *more: dict[str, str]) -> list[dict[str, str]]:
    base = base_url(request)
    crumbs = [{"href": f"{base}/collections?f=html", "title": "Collezioni"}]
    if collection is not None:
        crumbs.append({"href": f"{base}/collections/{collection.id}?f=html", "title": collection.title_it})
    return crumbs + list(more)


def _html_link(href: str) -> str:
    return href + ("&" if "?" in href else "?") + "f=html"


def landing(request: Request, document: dict[str, Any]) -> Encoded:
    """The landing page in Italian, linking the conformance, collections and maps pages."""
    links = [
        {
            "href": _html_link(link["href"]) if link["rel"] in ("conformance", "data") else link["href"],
            "label": LINK_LABELS.get(link["rel"], link.get("title", link["rel"])),
            "type": link.get("type", ""),
        }
        for link in document["links"]
        if link["rel"] != "self"
    ]
    links.append({"href": f"{base_url(request)}/maps/", "label": "Mappe per la pianificazione", "type": "text/html"})
    description = (
        "Copertura in banda ultralarga, scuole e strade delle province di Bergamo, Brescia, Cremona e Mantova, "
        "come dati aperti OGC API - Features: per QGIS, GDAL e ogni client conforme, o da sfogliare qui."
    )
    return _render(request, "landing.html", "areavasta", [], description=description, links=links)


def conformance(request: Request, classes: list[str]) -> Encoded:
    """The conformance classes page."""
    return _render(request, "conformance.html", "Classi di conformità", [], classes=classes)


def collections(request: Request, documents: list[dict[str, Any]], known: dict[str, Collection]) -> Encoded:
    """The collections page: title, source, reference date and whether the data is synthetic."""
    rows = [
        {
            "id": d["id"],
            "href": f"{base_url(request)}/collections/{d['id']}",
            "title": known[d["id"]].title_it,
            "source": d.get("source", ""),
            "reference_date": d.get("referenceDate"),
            "synthetic": d.get("synthetic"),
        }
        for d in documents
    ]
    return _render(request, "collections.html", "Collezioni di dati", [], collections=rows)


def collection(request: Request, document: dict[str, Any], described: Collection) -> Encoded:
    """The page of one collection, with its extent and links to its items and queryables."""
    boxes = document["extent"]["spatial"]["bbox"]
    extent = boxes[0] if boxes else None
    extent_text = (
        "nessun dato"
        if extent is None
        else f"long. {italian.number(extent[0], 4)} – {italian.number(extent[2], 4)}, "
        f"lat. {italian.number(extent[1], 4)} – {italian.number(extent[3], 4)}"
    )
    base = f"{base_url(request)}/collections/{described.id}"
    return _render(
        request,
        "collection.html",
        described.title_it,
        _crumbs(request),
        c=document,
        extent=extent,
        extent_text=extent_text,
        items=f"{base}/items?f=html",
        queryables=f"{base}/queryables?f=html",
    )


def queryables(request: Request, document: dict[str, Any], described: Collection) -> Encoded:
    """The page of a collection's queryables, sorted by name."""
    properties = sorted(document["properties"].items())
    return _render(request, "queryables.html", f"{described.title_it}: proprietà", _crumbs(request, described),
                   properties=properties)  # fmt: skip


def _display(value: Any) -> tuple[str, str]:
    """A property value as an Italian reader expects it, with its cell class."""
    if value is None:
        return "—", "null"
    if isinstance(value, bool):
        return ("sì" if value else "no"), ""
    if isinstance(value, int):
        return (italian.number(value) if abs(value) >= 10_000 else str(value)), "number"
    if isinstance(value, float):
        text = italian.number(value, 4).rstrip("0").rstrip(",")
        return text, "number"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False), ""
    return str(value), ""


def items(request: Request, described: Collection, page: dict[str, Any]) -> Encoded:
    """A page of features as a table, with the paging links and counts."""
    base = f"{base_url(request)}/collections/{described.id}/items"
    rows = []
    for feature in page["features"]:
        shown = {name: _display(value) for name, value in feature["properties"].items()}
        rows.append(
            {
                "id": feature["id"],
                "href": f"{base}/{feature['id']}?f=html",
                "cells": {name: text for name, (text, _) in shown.items()},
                "css": {name: css for name, (_, css) in shown.items()},
            }
        )
    links = {link["rel"]: link["href"] for link in page["links"]}
    matched, returned = page["numberMatched"], page["numberReturned"]
    offset = int(request.query_params.get("offset", "0") or 0)
    matched_text = (
        f"Elementi {italian.number(offset + 1)}–{italian.number(offset + returned)} di {italian.number(matched)}."
        if returned
        else f"Nessun elemento in questa pagina ({italian.number(matched)} in tutto)."
    )
    return _render(
        request,
        "items.html",
        f"{described.title_it}: elementi",
        _crumbs(request, described),
        features=rows,
        columns=list(described.properties),
        geojson=page,
        matched_text=matched_text,
        next=links.get("next"),
        prev=links.get("prev"),
    )


def feature(request: Request, described: Collection, document: dict[str, Any]) -> Encoded:
    """The page of one feature: its properties and its geometry on a map."""
    properties = [(name, *_display(value)) for name, value in document["properties"].items()]
    crumb = {"href": f"{base_url(request)}/collections/{described.id}/items?f=html", "title": "Elementi"}
    return _render(
        request,
        "feature.html",
        f"{described.title_it}: {document['id']}",
        _crumbs(request, described, crumb),
        properties=properties,
        geojson=document,
    )


ERROR_MESSAGES = {
    400: "La richiesta contiene un parametro non valido.",
    401: "Serve una chiave API.",
    403: "La chiave API non consente questa operazione.",
    404: "La risorsa richiesta non esiste.",
    503: "Il servizio dati non è raggiungibile in questo momento: riprovare tra poco.",
}


def error(request: Request, status: int, code: str, description: str) -> Encoded:
    """An exception document as a page, for a browser."""
    message = ERROR_MESSAGES.get(status, "Il servizio non è riuscito a rispondere.")
    return _render(request, "error.html", "Errore", [], message=message, code=code, status=status,
                   description=description)  # fmt: skip
