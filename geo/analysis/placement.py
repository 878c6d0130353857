"""Where the listed civic numbers are, as far as the data tell (the Infratel list has no coordinates).

Where a surveyed road layer names the listed street in the same municipality, its civic numbers go to the census
cell holding the street (location ``street``). The rest of each municipality's listed civic numbers are shared
among its populated census cells in proportion to their population (``modelled``; whole numbers by largest
remainder, so every municipality keeps its exact count). The cells are grouped by their nearest settlement of the
same municipality; each group is one target, priced cell by cell at the distribution cost of the cell's density
class. Schools on the list are targets of their own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from geo.addresses import normalise_street
from geo.analysis.costs import BOUNDS, Geotypes, UnitCosts
from geo.analysis.runs import AnalysisError
from geo.ingest.fields import map_distinct
from geo.models import WORKING_SRID
from geo.reference import CoverageRules, school_levels


def largest_remainder(totals: pd.Series, weights: pd.Series, groups: pd.Series) -> np.ndarray:
    """Whole shares of each group's total in proportion to ``weights``; every group's shares add up to its total."""
    weight_sum = weights.groupby(groups).transform("sum")
    exact = totals.to_numpy(dtype=float) * weights.to_numpy(dtype=float) / weight_sum.to_numpy(dtype=float)
    floor = np.floor(exact)
    frame = pd.DataFrame({"group": groups.to_numpy(), "rest": exact - floor, "position": np.arange(len(exact))})
    missing = (totals - pd.Series(floor, index=totals.index).groupby(groups).transform("sum")).to_numpy()
    frame["missing"] = np.rint(missing).astype(int)
    frame = frame.sort_values(["group", "rest", "position"], ascending=[True, False, True])
    frame["order"] = frame.groupby("group").cumcount()
    extra = np.zeros(len(exact))
    chosen = frame.loc[frame["order"] < frame["missing"], "position"].to_numpy()
    extra[chosen] = 1
    return (floor + extra).astype(int)


def _municipalities(conn: Connection, run: int, when: dt.date) -> pd.DataFrame:
    """Municipalities with listed civic numbers, less those of the schools on the list (targets of their own)."""
    return pd.read_sql(
        text(
            "SELECT cc.pro_com_t, c.comune, cc.cod_uts, "
            "cc.civici_unserved - coalesce(s.listed, 0) AS civici, cc.population, cc.households, "
            "cc.population / greatest(ST_Area(c.geom) / 1e6, 0.01) AS density_per_km2 "
            "FROM out.coverage_comune cc JOIN ref.comune c USING (pro_com_t) "
            "LEFT JOIN (SELECT pro_com_t, count(DISTINCT infratel_id) AS listed FROM out.school_connectivity "
            "WHERE run_id = :r AND status = 'gap' GROUP BY pro_com_t) s USING (pro_com_t) "
            "WHERE cc.run_id = :r AND cc.ref_date = :d AND cc.civici_unserved - coalesce(s.listed, 0) > 0 "
            "ORDER BY cc.pro_com_t"
        ),
        conn,
        params={"r": run, "d": when},
    )


def _persons_per_household(comuni: pd.DataFrame, rules: CoverageRules) -> pd.Series:
    """Residents per AGCOM household; where the ratio is missing or outside the plausible band (anomalous inputs,
    flagged by the coverage analysis) the median of the plausible ones stands in."""
    ratio = comuni["population"] / comuni["households"].where(comuni["households"] > 0)
    plausible = ratio.between(rules["persons_per_household_min"], rules["persons_per_household_max"])
    return ratio.where(plausible).fillna(ratio[plausible].median())


def civic_targets(
    conn: Connection, run: int, when: dt.date, costs: UnitCosts, kinds: Geotypes, rules: CoverageRules
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Targets (one per municipality and settlement group) and their placements (one per cell and municipality)."""
    comuni = _municipalities(conn, run, when)
    comuni["persons_per_household"] = _persons_per_household(comuni, rules)
    codes = comuni["pro_com_t"].tolist()
    parts = gpd.read_postgis(
        text(
            "SELECT pro_com_t, grd_id, population, density_per_km2, ST_X(ST_PointOnSurface(geom)) AS px, "
            "ST_Y(ST_PointOnSurface(geom)) AS py, geom "
            "FROM ref.popgrid_part WHERE pro_com_t = ANY(:codes) AND population > 0 ORDER BY pro_com_t, grd_id"
        ),
        conn,
        geom_col="geom",
        params={"codes": codes},
    )
    settlements = gpd.read_postgis(
        text("SELECT id, pro_com_t, name, geom FROM ref.settlement WHERE pro_com_t = ANY(:codes) ORDER BY id"),
        conn,
        geom_col="geom",
        params={"codes": codes},
    )
    placed = comuni[comuni["pro_com_t"].isin(parts["pro_com_t"])]
    parts = parts.merge(placed[["pro_com_t", "civici"]].rename(columns={"civici": "total"}), on="pro_com_t")
    by_street = cast(Mapping[Any, int], cells_of_streets(_street_civics(conn, codes), parts))
    parts["civici_by_street"] = (
        pd.MultiIndex.from_frame(parts[["pro_com_t", "grd_id"]]).map(by_street).fillna(0).astype(int).to_numpy()
    )
    remaining = parts["total"] - parts.groupby("pro_com_t")["civici_by_street"].transform("sum")
    parts["civici"] = parts["civici_by_street"] + largest_remainder(remaining, parts["population"], parts["pro_com_t"])
    parts = parts[parts["civici"] > 0].reset_index(drop=True)
    parts["point"] = shapely.points(parts["px"].to_numpy(), parts["py"].to_numpy())
    parts["settlement_id"] = _nearest_settlement(parts, settlements)
    parts["geotype"], cost_class = kinds.classify(parts["density_per_km2"].to_numpy())
    parts = parts.assign(**_distribution(cost_class, parts["civici"].to_numpy(), costs))
    parts["target_id"] = "civici:" + parts["pro_com_t"] + ":" + parts["settlement_id"].astype(str)

    targets = _grouped(parts, comuni, settlements)
    fallback = _fallback(comuni[~comuni["pro_com_t"].isin(parts["pro_com_t"])], conn, costs, kinds)
    targets = pd.concat([targets, fallback], ignore_index=True)
    if targets["civici"].sum() != comuni["civici"].sum():  # every listed civic number is somewhere, once
        raise AnalysisError(f"placement lost civic numbers: {targets['civici'].sum()} of {comuni['civici'].sum()}")
    per_household = costs.value("households_per_civic")
    targets["households"] = targets["civici"] * per_household
    pph = comuni.set_index("pro_com_t")["persons_per_household"]
    targets["population"] = targets["households"] * targets["pro_com_t"].map(pph)
    for bound in BOUNDS:
        targets[f"drops_{bound}"] = targets["civici"] * costs.value("drop", bound)
    placements = parts[
        ["target_id", "grd_id", "pro_com_t", "civici", "civici_by_street", "population", "density_per_km2", "geotype"]
    ]
    placements = gpd.GeoDataFrame(
        placements.assign(distribution_eur=parts["distribution_central"]), geometry=parts.geometry, crs=WORKING_SRID
    )
    return gpd.GeoDataFrame(targets, geometry="geom", crs=WORKING_SRID), placements


def _distribution(cost_class: np.ndarray, civici: np.ndarray, costs: UnitCosts) -> dict[str, np.ndarray]:
    """Distribution cost at each bound: civic numbers passed × the cost of passing one in their cost class."""
    return {
        f"distribution_{bound}": civici.astype(float) * np.array([costs.premise(c, bound) for c in cost_class])
        for bound in BOUNDS
    }


def _street_civics(conn: Connection, codes: list[str]) -> pd.DataFrame:
    """Listed civic numbers per street that a surveyed road layer names in the same municipality, at the middle of
    the street's edges (synthetic networks have no real names: nothing is placed by street on them)."""
    streets = pd.read_sql(
        text(
            "SELECT c.pro_com_t, e.name, ST_X(m.point) AS x, ST_Y(m.point) AS y FROM net.edge e "
            "CROSS JOIN LATERAL (SELECT ST_LineInterpolatePoint(e.geom, 0.5) AS point) m "
            "JOIN ref.comune c ON ST_Intersects(c.geom, m.point) "
            "WHERE NOT e.synthetic AND e.name IS NOT NULL AND c.pro_com_t = ANY(:codes)"
        ),
        conn,
        params={"codes": codes},
    )
    if streets.empty:
        return pd.DataFrame(columns=["pro_com_t", "strada_norm", "civici", "x", "y"])
    listed = pd.read_sql(
        text(
            "SELECT pro_com_t, strada_norm, count(*) AS civici FROM cov.infratel_civico "
            "WHERE pro_com_t = ANY(:codes) GROUP BY pro_com_t, strada_norm"
        ),
        conn,
        params={"codes": codes},
    )
    return match_streets(listed, streets)


def match_streets(listed: pd.DataFrame, streets: pd.DataFrame) -> pd.DataFrame:
    """Listed civic numbers (``pro_com_t``, ``strada_norm``, ``civici``) on the named streets (``pro_com_t``,
    ``name``, ``x``, ``y``: one row per edge) of their municipality, each street at its edge midpoint nearest to
    the street's centre."""
    streets = streets.assign(strada_norm=map_distinct(streets["name"], normalise_street))
    centre = streets.groupby(["pro_com_t", "strada_norm"])[["x", "y"]].transform("mean")
    streets = streets.assign(gap=np.hypot(streets["x"] - centre["x"], streets["y"] - centre["y"]))
    middle = streets.sort_values(["pro_com_t", "strada_norm", "gap", "x", "y"]).drop_duplicates(
        ["pro_com_t", "strada_norm"]
    )
    return listed.merge(middle[["pro_com_t", "strada_norm", "x", "y"]], on=["pro_com_t", "strada_norm"])


def cells_of_streets(streets: pd.DataFrame, parts: gpd.GeoDataFrame) -> pd.Series:
    """Civic numbers placed by street, summed per (municipality, cell) holding the street's point; streets outside
    every populated cell of their municipality are left to the placement by population."""
    if streets.empty:
        return pd.Series(dtype=int)
    points = gpd.GeoDataFrame(
        streets[["pro_com_t", "civici"]], geometry=shapely.points(streets["x"], streets["y"]), crs=parts.crs
    )
    hits = gpd.sjoin(points, parts[["pro_com_t", "grd_id", "geom"]], predicate="within")
    hits = hits[hits["pro_com_t_left"] == hits["pro_com_t_right"]]
    return hits.groupby(["pro_com_t_left", "grd_id"])["civici"].sum().astype(int)


def _nearest_settlement(parts: gpd.GeoDataFrame, settlements: gpd.GeoDataFrame) -> np.ndarray:
    """The nearest settlement of the same municipality for each cell part (0 where the municipality has none)."""
    pairs = pd.DataFrame({"part": np.arange(len(parts)), "pro_com_t": parts["pro_com_t"].to_numpy()}).merge(
        pd.DataFrame(
            {
                "pro_com_t": settlements["pro_com_t"].to_numpy(),
                "id": settlements["id"].to_numpy(),
                "x": settlements.geometry.x.to_numpy(),
                "y": settlements.geometry.y.to_numpy(),
            }
        ),
        on="pro_com_t",
    )
    dx = pairs["x"].to_numpy() - parts["px"].to_numpy()[pairs["part"]]
    dy = pairs["y"].to_numpy() - parts["py"].to_numpy()[pairs["part"]]
    pairs["distance"] = np.hypot(dx, dy)
    best = pairs.sort_values(["part", "distance", "id"]).drop_duplicates("part").set_index("part")["id"]
    return best.reindex(np.arange(len(parts))).fillna(0).astype(np.int64).to_numpy()


def _grouped(parts: gpd.GeoDataFrame, comuni: pd.DataFrame, settlements: gpd.GeoDataFrame) -> pd.DataFrame:
    """One target per settlement group: its cells' civic numbers and costs, located at its fullest cell."""
    biggest = parts.sort_values(["target_id", "civici", "grd_id"], ascending=[True, False, True]).drop_duplicates(
        "target_id"
    )
    sums = parts.groupby("target_id").agg(
        civici=("civici", "sum"),
        civici_by_street=("civici_by_street", "sum"),
        cells=("grd_id", "count"),
        distribution_low=("distribution_low", "sum"),
        distribution_central=("distribution_central", "sum"),
        distribution_high=("distribution_high", "sum"),
    )
    names = settlements.set_index("id")["name"]
    out = biggest[["target_id", "pro_com_t", "settlement_id", "geotype", "point"]].merge(sums, on="target_id")
    out = out.merge(comuni[["pro_com_t", "comune", "cod_uts"]], on="pro_com_t")
    place = out["settlement_id"].map(names)
    out["name"] = np.where(place.notna() & (place != out["comune"]), out["comune"] + " – " + place, out["comune"])
    out["kind"] = "civic_cluster"
    out["location"] = np.select(
        [out["civici_by_street"] == out["civici"], out["civici_by_street"] > 0],
        ["street", "street_and_modelled"],
        "modelled",
    )
    out["schools"] = 0
    return (
        out.drop(columns="civici_by_street").rename(columns={"point": "geom"}).drop(columns=["settlement_id", "comune"])
    )


def _fallback(comuni: pd.DataFrame, conn: Connection, costs: UnitCosts, kinds: Geotypes) -> pd.DataFrame:
    """Municipalities with listed civic numbers but no populated census cell: one target at the main settlement,
    or at a point of the municipal surface where it has none."""
    if comuni.empty:
        return pd.DataFrame()
    points = gpd.read_postgis(
        text(
            "SELECT c.pro_com_t, coalesce(m.id, 0) AS id, "
            "CASE WHEN m.id IS NULL THEN 'municipality' ELSE 'settlement' END AS location, "
            "coalesce(m.geom, ST_PointOnSurface(c.geom)) AS geom FROM ref.comune c "
            "LEFT JOIN ref.main_settlement m USING (pro_com_t) WHERE c.pro_com_t = ANY(:codes)"
        ),
        conn,
        geom_col="geom",
        params={"codes": comuni["pro_com_t"].tolist()},
    )
    out = comuni.merge(points, on="pro_com_t")
    out["geotype"], cost_class = kinds.classify(out["density_per_km2"].to_numpy())
    out = out.assign(**_distribution(cost_class, out["civici"].to_numpy(), costs))
    out["target_id"] = "civici:" + out["pro_com_t"] + ":" + out["id"].astype(str)
    out["name"] = out["comune"]
    out["kind"] = "civic_cluster"
    out["schools"] = 0
    out["cells"] = 0
    return out[
        ["target_id", "pro_com_t", "cod_uts", "name", "kind", "location", "civici", "cells", "geotype", "schools"]
        + [f"distribution_{b}" for b in BOUNDS]
        + ["geom"]
    ]


def school_targets(
    conn: Connection, run: int, costs: UnitCosts, kinds: Geotypes, school_weight: float
) -> gpd.GeoDataFrame:
    """Schools whose address is on the list: one target per listed civic number (the schools at one address share
    its connection), one civic number passed and one drop each, at the density of the cell they stand in (the
    municipality's where no cell holds them). A target counts the schools with pupils of their own at the address:
    an institute's seat (``school_levels.csv``) adds none beside its own school, and one alone counts as one."""
    found = gpd.read_postgis(
        text(
            "SELECT 'school:' || s.codicescuola AS target_id, 'school' AS kind, s.denominazione AS name, s.pro_com_t, "
            "coalesce(c.infratel_id::text, s.codicescuola) AS address, s.livello, "
            "c.cod_uts, CASE WHEN s.geocode_quality = 'address' THEN 'geocoded' ELSE 'approximate' END AS location, "
            "coalesce((SELECT p.density_per_km2 FROM ref.popgrid_part p WHERE p.pro_com_t = s.pro_com_t "
            "AND ST_Intersects(p.geom, s.geom) LIMIT 1), "
            "(SELECT k.population FROM out.coverage_comune k WHERE k.run_id = c.run_id AND k.pro_com_t = s.pro_com_t "
            "ORDER BY k.ref_date DESC LIMIT 1) / greatest(ST_Area(m.geom) / 1e6, 0.01)) AS density_per_km2, s.geom "
            "FROM out.school_connectivity c JOIN school.scuola_located s USING (codicescuola) "
            "JOIN ref.comune m ON m.pro_com_t = s.pro_com_t WHERE c.run_id = :r AND c.status = 'gap'"
        ),
        conn,
        geom_col="geom",
        params={"r": run},
    )
    found["teaching"] = found["livello"].isin(school_levels().teaching)
    found["geocoded"] = found["location"] == "geocoded"
    # the best-placed row stands for the address (position and density with it), a teaching school before a seat
    found = found.sort_values(["address", "geocoded", "teaching", "target_id"], ascending=[True, False, False, True])
    together = found.groupby("address", sort=False)
    schools = found.drop_duplicates("address").set_index("address")
    schools["name"] = together["name"].agg("; ".join)
    schools["schools"] = together["teaching"].sum().clip(lower=1)
    schools = gpd.GeoDataFrame(
        schools.reset_index(drop=True).drop(columns=["livello", "teaching", "geocoded"]), geometry="geom", crs=found.crs
    )
    schools["geotype"], cost_class = kinds.classify(schools["density_per_km2"].to_numpy())
    schools = schools.assign(**_distribution(cost_class, np.ones(len(schools)), costs))
    for bound in BOUNDS:
        schools[f"drops_{bound}"] = costs.value("drop", bound)
    return schools.assign(civici=0, cells=0, households=0.0, population=0.0, school_weight=school_weight).drop(
        columns="density_per_km2"
    )


def point_of(geoms: gpd.GeoSeries) -> np.ndarray:
    """Coordinates of point geometries as an (n, 2) array."""
    return np.column_stack([shapely.get_x(geoms.to_numpy()), shapely.get_y(geoms.to_numpy())])
