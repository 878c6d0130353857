"""Priority lists: deterministic ranking, budget never exceeded, costs non-negative, marginal costs no larger than
standalone ones, reasons for every item; exports read back with pandas, openpyxl and pyogrio."""

import io

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from sqlalchemy import text

from geo.analysis import coverage, exports, priorities
from geo.analysis.costs import Scenario, scenarios
from geo.analysis.runs import AnalysisError


@pytest.fixture(scope="module")
def ranked(layers):
    store, _ = layers
    coverage.analyze(store.engine)
    scenario = Scenario(budget_eur=2_000_000)
    return store, scenario, priorities.compute(store.engine, scenario)


def test_budget_is_never_exceeded_and_costs_are_sane(ranked):
    _, scenario, items = ranked
    chosen = items[items["selected"]]
    assert 0 < len(chosen) < len(items)
    assert chosen["marginal_capex_eur"].sum() <= scenario.budget_eur
    assert chosen["cumulative_eur"].is_monotonic_increasing
    reachable = items[np.isfinite(items["capex_eur"])]
    assert (reachable["capex_eur"] >= 0).all() and (reachable["npv_eur"] >= reachable["capex_eur"]).all()
    assert (chosen["marginal_capex_eur"] <= chosen["capex_eur"] + 1e-6).all()  # sharing trenches never costs more
    assert np.isfinite(reachable["bc_ratio"]).all()
    assert items["rank"].tolist() == list(range(1, len(items) + 1))
    assert items["reason"].str.len().min() > 20
    assert (items.loc[items["kind"] == "civic_cluster", "geocode_quality"] == "settlement").all()


def test_ranking_is_deterministic_and_selected_items_come_first(ranked):
    store, scenario, items = ranked
    again = priorities.compute(store.engine, scenario)
    assert items["target_id"].tolist() == again["target_id"].tolist()
    first_unselected = items.index[~items["selected"]].min()
    assert items.loc[: first_unselected - 1, "selected"].all()


def test_a_larger_budget_selects_a_superset_of_the_spend(ranked):
    store, scenario, items = ranked
    bigger = priorities.compute(store.engine, scenario.model_copy(update={"budget_eur": 4_000_000}))
    assert bigger["selected"].sum() >= items["selected"].sum()
    assert bigger.loc[bigger["selected"], "marginal_capex_eur"].sum() <= 4_000_000


def test_stored_run_exports_read_back_the_same_rows(ranked, tmp_path):
    store, scenario, items = ranked
    run = priorities.analyze(store.engine, scenario)
    run_id, csv_body = exports.export(store.engine, "csv", run.id)
    assert run_id == run.id
    table = pd.read_csv(io.BytesIO(csv_body), dtype={"pro_com_t": str, "cod_uts": str})
    assert table["target_id"].tolist() == items["target_id"].tolist()
    assert table["pro_com_t"].str.match(r"^\d{6}$").all()
    book = openpyxl.load_workbook(io.BytesIO(exports.export(store.engine, "xlsx", run.id)[1]))
    assert book.sheetnames[0] == "summary" and {f"province {p}" for p in items["cod_uts"].unique()} <= set(
        book.sheetnames
    )
    sheet = book["province 016"]
    header = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    capex = header.index("capex_eur") + 1
    assert all(isinstance(sheet.cell(row=r, column=capex).value, float | int) for r in range(2, sheet.max_row + 1))
    assert sheet.max_row - 1 == (items["cod_uts"] == "016").sum()
    gpkg = tmp_path / "priorities.gpkg"
    gpkg.write_bytes(exports.export(store.engine, "gpkg", run.id)[1])
    layers = dict(pyogrio.list_layers(gpkg))
    assert layers == {"targets": "Point", "routes": "MultiLineString"}
    assert pyogrio.read_dataframe(gpkg, layer="targets")["target_id"].tolist() == items["target_id"].tolist()
    with store.engine.connect() as conn:
        record = conn.execute(text("SELECT parameters FROM out.analysis_run WHERE id = :r"), {"r": run.id}).scalar()
    assert record["budget_eur"] == scenario.budget_eur and "fibre_sources" in record


def test_every_route_is_a_connected_path_of_stored_edges(ranked):
    store, _, items = ranked
    routed = items[items["route"].notna()]
    assert len(routed) > 0
    with store.engine.connect() as conn:
        for row in routed.itertuples():
            parts, stored, pieces = conn.execute(
                text(
                    "WITH r AS (SELECT ST_GeomFromWKB(:route, 32632) AS g) "
                    "SELECT (SELECT count(*) FROM r, ST_Dump(r.g)), "
                    "(SELECT count(*) FROM r, ST_Dump(r.g) d WHERE EXISTS "
                    " (SELECT 1 FROM net.edge e WHERE e.geom && d.geom AND ST_Equals(e.geom, d.geom))), "
                    "(SELECT ST_NumGeometries(ST_LineMerge(g)) FROM r)"
                ),
                {"route": row.route.wkb},
            ).one()
            assert parts == stored, row.target_id  # each part is an edge of the network
            assert pieces == 1, row.target_id  # and together they run end to end


def test_named_scenarios_and_missing_inputs(store):
    assert {"default", "duct-reuse", "schools-first"} <= set(scenarios())
    with pytest.raises(AnalysisError, match="run 'areavasta analyze' first"):
        priorities.compute(store.engine, Scenario())
    with pytest.raises(AnalysisError, match="no priorities run"):
        exports.export(store.engine, "csv")
