"""Street and civic-number normalisation: properties and the forms found in the real registries."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.addresses import STREET_TYPES, Civic, normalise_street, parse_civic, split_address

names = st.text(alphabet="ABCDEFGHILMNOPRSTUVZ àèéìòù'.-", min_size=1, max_size=30)
exponents = st.one_of(st.none(), st.sampled_from(["A", "B", "BIS", "TER", "D", "P 1", "13"]))


@given(names)
def test_normalising_is_idempotent(name):
    once = normalise_street(name)
    assert normalise_street(once) == once
    assert once == once.upper().strip()


@given(st.integers(min_value=1, max_value=9999), exponents)
def test_civic_keys_round_trip(numero, esponente):
    civic = Civic(numero, esponente)
    assert parse_civic(civic.key) == civic


@given(
    st.sampled_from(sorted(STREET_TYPES)),
    st.text(alphabet="ABCDEFGLMNOPRSTUVZ", min_size=3, max_size=12),
    st.integers(min_value=1, max_value=999),
)
def test_addresses_split_into_street_and_number(kind, name, numero):
    street, civic = split_address(f"{kind.replace(' ', '.')}. {name} {numero}")
    assert street == normalise_street(f"{STREET_TYPES[kind]} {name}")
    assert civic == Civic(numero)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("V. G.MARCONI", "VIA G MARCONI"),
        ("P.ZA VITTORIO VENETO", "PIAZZA VITTORIO VENETO"),
        ("Via Nicolò Tartaglia", "VIA NICOLO TARTAGLIA"),
        ("VIA CITT\ufffd DI BRESCIA", "VIA CITT? DI BRESCIA"),
        ("S.P. 80", "STRADA PROVINCIALE 80"),
    ],
)
def test_street_forms(raw, expected):
    assert normalise_street(raw) == expected


@pytest.mark.parametrize(
    ("raw", "key"),
    [("7/D", "7/D"), ("7 d", "7/D"), ("12 BIS", "12/BIS"), ("2/P 1", "2/P 1"), ("0", ""), ("SNC", ""), ("0/SNC 2", "")],
)
def test_civic_forms(raw, key):
    assert parse_civic(raw).key == key


def test_unreadable_civic_and_address_without_number():
    assert parse_civic("abc") is None
    assert split_address("VIA XX SETTEMBRE") == ("VIA XX SETTEMBRE", None)
    assert split_address("VIA ESEGUITI SNC") == ("VIA ESEGUITI", Civic(None))
    assert split_address("VIA 4 NOVEMBRE 3") == ("VIA 4 NOVEMBRE", Civic(3))
