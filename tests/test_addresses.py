"""Street and civic-number normalisation: properties and the forms found in the real registries."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.addresses import (
    CIVIC_MARKERS,
    KILOMETRE,
    NO_NUMBER_WORDS,
    STREET_TYPES,
    Civic,
    normalise_street,
    parse_civic,
    split_address,
)

names = st.text(alphabet="ABCDEFGHILMNOPRSTUVZ àèéìòù'.-", min_size=1, max_size=30)
exponents = st.one_of(st.none(), st.sampled_from(["A", "B", "BIS", "TER", "D", "P 1", "13"]))
# Words that read as something else next to a number (VIA NUM 5, VIA ROMA KM 5) are not street names here.
_SPECIAL_WORDS = frozenset({*CIVIC_MARKERS, *NO_NUMBER_WORDS, KILOMETRE})
words = st.text(alphabet="ABCDEFGHILMNOPRSTUVZ", min_size=1, max_size=10).filter(lambda w: w not in _SPECIAL_WORDS)
streets = st.builds(
    lambda kind, name: f"{kind.replace(' ', '.')}. {' '.join(name)}",
    st.sampled_from(sorted(STREET_TYPES)),
    st.lists(words, min_size=1, max_size=3),
)
# A civic number as written: the number, then its exponent as the registries write it (and its expected key part).
civics = st.tuples(
    st.integers(min_value=1, max_value=9999),
    st.sampled_from([("", None), ("/A", "A"), ("A", "A"), (" BIS", "BIS"), ("/B", "B"), (" TER", "TER"), ("/2", "2")]),
)
MARKED_FORMS = (
    "{street} N. {civic}",
    "{street} N.{civic}",
    "{street}, N° {civic}",
    "{street} NR {civic}",
    "{street} NR. {civic}",
    "{street} NUM. {civic}",
    "{street} CIVICO {civic}",
    "{street} C.N. {civic}",
    "{street}N.{civic}",
    "{street} N. {civic} - {locality}",
    "{street} {civic} - {locality}",
)


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
    st.text(alphabet="ABCDEFGLMNOPRSTUVZ", min_size=3, max_size=12).filter(lambda w: w not in _SPECIAL_WORDS),
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


@given(streets, civics, st.sampled_from(MARKED_FORMS), words)
def test_civic_markers_and_trailing_localities_do_not_change_the_split(street, civic, form, locality):
    (numero, (written, esponente)) = civic
    plain = split_address(f"{street} {numero}{written}")
    assert plain == (normalise_street(street), Civic(numero, esponente))
    assert split_address(form.format(street=street, civic=f"{numero}{written}", locality=locality)) == plain


@given(streets, civics, st.sampled_from(MARKED_FORMS), words)
def test_the_street_key_never_ends_with_a_marker(street, civic, form, locality):
    (numero, (written, _)) = civic
    key, _ = split_address(form.format(street=street, civic=f"{numero}{written}", locality=locality))
    assert key.rsplit(" ", 1)[-1] not in CIVIC_MARKERS


@given(streets)
def test_a_street_without_a_number_has_no_civic(street):
    assert split_address(street) == (normalise_street(street), None)


@pytest.mark.parametrize(
    ("raw", "street", "key"),
    [
        ("VIA COLLINA ALTA N. 8", "VIA COLLINA ALTA", "8"),
        ("VIA ROMA N.69", "VIA ROMA", "69"),
        ("PIAZZA GARIBALDI N°3/A", "PIAZZA GARIBALDI", "3/A"),
        ("Via Trieste n.4", "VIA TRIESTE", "4"),
        ("VIA FORLANINI NR.5", "VIA FORLANINI", "5"),
        ("VIA PIAVE NR 15", "VIA PIAVE", "15"),
        ("VIA ROMA NUM. 7", "VIA ROMA", "7"),
        ("VIA ROMA CIVICO 5", "VIA ROMA", "5"),
        ("VIA ROMA C.N. 5", "VIA ROMA", "5"),
        ("VIA ROMA Nº 5", "VIA ROMA", "5"),
        ("VIA BERNINA N?5", "VIA BERNINA", "5"),
        ("VIA ROMA.N.10", "VIA ROMA", "10"),
        ("VIA ROCCOLI N.1/E", "VIA ROCCOLI", "1/E"),
        ("VIA VENETO N.21A", "VIA VENETO", "21/A"),
        ("VIA XX SETTEMBRE N. 10", "VIA XX SETTEMBRE", "10"),
        ("VIA IV NOVEMBRE N. 8", "VIA IV NOVEMBRE", "8"),
        # "N." glued to the name
        ("VIA ROMAN.11", "VIA ROMA", "11"),
        ("VIA SAN MARTINON.5/7", "VIA SAN MARTINO", "5/7"),
        ("VIA UMBERTO IN.19", "VIA UMBERTO I", "19"),
        ("VIA CONFALONIERIN.-12", "VIA CONFALONIERI", "12"),
        ('VIA PAPA GIOVANNI XXIII"N.39', "VIA PAPA GIOVANNI XXIII", "39"),
        # the number glued to the name
        ("VIA DON ISENI10", "VIA DON ISENI", "10"),
        ("VIA BELLINI2A", "VIA BELLINI", "2/A"),
        ("VIA PAPA GIOVANNI XXIII4", "VIA PAPA GIOVANNI XXIII", "4"),
        ("PIAZZA VITTORIO EMANUELE II14", "PIAZZA VITTORIO EMANUELE II", "14"),
        ("VIA MARTIRI DELLA LIBERTA'8", "VIA MARTIRI DELLA LIBERTA", "8"),
        # a locality or a remark after the number, a range, stray punctuation
        ("VIA VERZIANO N. 8 - FORNACI", "VIA VERZIANO", "8"),
        ("PIAZZA REPUBBLICA N.6 GOVERNOLO", "PIAZZA REPUBBLICA", "6"),
        ("TRAVERSA IV N. 12 VILL. BADIA", "TRAVERSA IV", "12"),
        ("VIA TONALE N.6 FRAZ. PETOSINO", "VIA TONALE", "6"),
        ("VIA RODA 17 - MONTANARA", "VIA RODA", "17"),
        ("V.24 MAGGIO 9-VILLANUOVA S/C", "VIA 24 MAGGIO", "9"),
        ("VIA RITA LEVI MONTALCINI 1/A - B", "VIA RITA LEVI MONTALCINI", "1/A"),
        ("VIA ROCCAFRANCA 7/B (INGRESSO NORD)", "VIA ROCCAFRANCA", "7/B"),
        ("VIA MOIA TR.1 N.11", "VIA MOIA TR 1", "11"),
        ("VIA G.MARCONI 8-10", "VIA G MARCONI", "8/10"),
        ("VIA G. MARCONI 8/10", "VIA G MARCONI", "8/10"),
        ("VIA SAN BERNARDINO 34.", "VIA SAN BERNARDINO", "34"),
        ("VIA PAPA GIOVANNI XXIII 29", "VIA PAPA GIOVANNI XXIII", "29"),
        # a number in the street's name
        ("VIA 4 NOVEMBRE 3", "VIA 4 NOVEMBRE", "3"),
        ("S.P. 80 5", "STRADA PROVINCIALE 80", "5"),
        ("VIA RAGAZZI DEL '99 N. 1", "VIA RAGAZZI DEL 99", "1"),
        # no civic number
        ("VIA CIMITERO S.N.", "VIA CIMITERO", ""),
        ("VIA ROMA S.N.C.", "VIA ROMA", ""),
        ("ST.PR.26 KM 150 (LOC.BRAZZUOLI)", "STRADA PROVINCIALE 26", ""),
        ("STR. PROV.LE N. 26 KM 0150", "STRADA PROVINCIALE 26", ""),
        ("S.P. 12 KM 3,5", "STRADA PROVINCIALE 12", ""),
    ],
)
def test_address_forms(raw, street, key):
    parsed_street, civic = split_address(raw)
    assert (parsed_street, civic.key) == (street, key)


@pytest.mark.parametrize(
    ("raw", "street"),
    [
        ("VIA XX SETTEMBRE", "VIA XX SETTEMBRE"),
        ("VIA IV NOVEMBRE", "VIA IV NOVEMBRE"),
        ("VIA 4 NOVEMBRE", "VIA 4 NOVEMBRE"),
        ("VIA 1 MAGGIO", "VIA 1 MAGGIO"),
        ("STRADA PROVINCIALE 12", "STRADA PROVINCIALE 12"),
        ("STRADA STATALE 45 BIS", "STRADA STATALE 45 BIS"),
        ("VIA RAGAZZI DEL '99", "VIA RAGAZZI DEL 99"),
        ("AUTOSTRADA A4", "AUTOSTRADA A4"),
        ("VIA C.BATTISTI 1 LOVERE", "VIA C BATTISTI 1 LOVERE"),
    ],
)
def test_numbers_in_the_street_name_are_not_civics(raw, street):
    assert split_address(raw) == (street, None)
