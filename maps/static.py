"""Where the maps' scripts and styles are served from: the application's own folders, never a CDN (importing this
loads no map library, so the service can mount them without loading folium)."""

from __future__ import annotations

from pathlib import Path

import xstatic.pkg.jquery
import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster

LEAFLET_DIR = Path(xstatic.pkg.leaflet.BASE_DIR)
LEAFLET_URL = "/static/leaflet"
JQUERY_DIR = Path(xstatic.pkg.jquery.BASE_DIR)
JQUERY_URL = "/static/jquery"
CLUSTER_DIR = Path(xstatic.pkg.leaflet_markercluster.BASE_DIR)
CLUSTER_URL = "/static/markercluster"
# installed from the npm registry by `make install` (maps/vendor/package.json)
VECTORGRID_DIR = Path(__file__).parent / "vendor" / "node_modules" / "leaflet.vectorgrid" / "dist"
VECTORGRID_URL = "/static/vectorgrid"
# the maps' own script: search, ranked table, page controls, legends and labels shared by every map
MAPS_DIR = Path(__file__).parent / "static"
MAPS_URL = "/static/maps"
SHARED_SCRIPT = ("areavasta", f"{MAPS_URL}/areavasta.js")
