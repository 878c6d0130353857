"""A folium page rendered without reading its own output as a template.

branca (folium's base) keeps what each element renders as ``Element(output)``, and an Element compiles its text as a
Jinja template and renders it again. Text from the data inside that output (a municipality, school or street name)
was then a template too: ``{{ … }}`` ran on the server (Jinja is not sandboxed: a name could run any Python) and
``{#`` broke the page. While ``render_page`` runs, every Element made from text in that thread keeps the text as it
is; elsewhere (a Figure's own template, built with the map) branca is unchanged.
"""

from __future__ import annotations

import threading
from typing import Any

import branca.element
import jinja2
from branca.element import Element, Figure

_rendering = threading.local()


class _Text:
    """Stands in for a template: renders to its own source."""

    def __init__(self, source: str) -> None:
        self.source = source

    def render(self, *args: Any, **kwargs: Any) -> str:
        return self.source


def _template(source: str) -> jinja2.Template | _Text:
    # the name Element.__init__ compiles its text with; while a page renders, every Element made holds output
    return _Text(source) if getattr(_rendering, "page", False) else jinja2.Template(source)


setattr(branca.element, "Template", _template)  # noqa: B010  (a patch of branca, not an attribute of ours)


class Markup(Element):
    """Markup placed in the page exactly as given (never read as a template)."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self._markup = markup

    def render(self, **kwargs: Any) -> str:
        """The markup, as given."""
        return self._markup


def render_page(root: Figure) -> str:
    """The standalone HTML page of ``root``, each element's output kept as it is."""
    before, _rendering.page = getattr(_rendering, "page", False), True
    try:
        return str(root.render())
    finally:
        _rendering.page = before
