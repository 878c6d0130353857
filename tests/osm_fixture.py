"""Small road networks in real OSM formats (XML, and PBF written by pyosmium) with known distances."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import osmium

ORIGIN = (45.69, 9.67)  # lat, lon in Bergamo
STEP_DEG = 0.001  # about 111 m of latitude, 78 m of longitude here


def grid_nodes(n: int = 3) -> dict[int, tuple[float, float]]:
    """Node id → (lat, lon) of an n × n grid."""
    return {
        1 + row * n + col: (ORIGIN[0] + row * STEP_DEG, ORIGIN[1] + col * STEP_DEG)
        for row in range(n)
        for col in range(n)
    }


def grid_ways(n: int = 3) -> list[tuple[int, list[int], dict[str, str]]]:
    """Rows are residential streets, columns tertiary roads; a motorway runs along the diagonal."""
    ways = []
    for row in range(n):
        ways.append((100 + row, [1 + row * n + c for c in range(n)], {"highway": "residential", "name": f"Via {row}"}))
    for col in range(n):
        ways.append((200 + col, [1 + r * n + col for r in range(n)], {"highway": "tertiary"}))
    ways.append((300, [1 + i * n + i for i in range(n)], {"highway": "motorway", "oneway": "yes"}))
    ways.append((400, [1, 2], {"building": "yes"}))  # not a road: must be ignored
    return ways


def write_xml(path: Path, n: int = 3) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="areavasta-tests">']
    for node_id, (lat, lon) in grid_nodes(n).items():
        lines.append(f'  <node id="{node_id}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for way_id, refs, tags in grid_ways(n):
        lines.append(f'  <way id="{way_id}" version="1">')
        lines += [f'    <nd ref="{ref}"/>' for ref in refs]
        lines += [f'    <tag k="{k}" v="{escape(v)}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_pbf(path: Path, n: int = 3) -> Path:
    """The same network as PBF, converted with pyosmium."""
    xml = write_xml(path.with_suffix(".xml"), n)
    with osmium.SimpleWriter(str(path)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    xml.unlink()
    return path
