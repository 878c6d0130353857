"""Normalised Italian street names and civic numbers, so that addresses from different registries can be matched.

The rules are data (``STREET_TYPES``, ``CIVIC_MARKERS``, ...), applied the same way to every source: upper case,
accents dropped, punctuation folded, the abbreviated street type expanded (``V.`` → ``VIA``, ``P.ZA`` → ``PIAZZA``).
A character the source lost (U+FFFD) is kept as ``?`` so that matching can treat it as a one-letter wildcard.
Free-text addresses lose the word announcing the civic number (``N.``, ``NR``, ``N°``, ``CIVICO``) and what is
written after it (``N. 8 - FORNACI``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LOST = "\ufffd"
WILDCARD = "?"

# Abbreviation (after punctuation is folded to spaces) → street type, for the first word of a street name.
STREET_TYPES: dict[str, str] = {
    "V": "VIA",
    "VIA": "VIA",
    "VLE": "VIALE",
    "V LE": "VIALE",
    "VIALE": "VIALE",
    "P ZA": "PIAZZA",
    "PZA": "PIAZZA",
    "P ZZA": "PIAZZA",
    "PZZA": "PIAZZA",
    "PZ": "PIAZZA",
    "P": "PIAZZA",
    "PIAZZA": "PIAZZA",
    "P LE": "PIAZZALE",
    "PLE": "PIAZZALE",
    "PIAZZALE": "PIAZZALE",
    "P TTA": "PIAZZETTA",
    "PTTA": "PIAZZETTA",
    "PIAZZETTA": "PIAZZETTA",
    "C SO": "CORSO",
    "CSO": "CORSO",
    "CORSO": "CORSO",
    "L GO": "LARGO",
    "LGO": "LARGO",
    "LARGO": "LARGO",
    "V LO": "VICOLO",
    "VLO": "VICOLO",
    "VICOLO": "VICOLO",
    "LOC": "LOCALITA",
    "LOCALITA": "LOCALITA",
    "FRAZ": "FRAZIONE",
    "FRAZIONE": "FRAZIONE",
    "STR": "STRADA",
    "STRADA": "STRADA",
    "C DA": "CONTRADA",
    "CDA": "CONTRADA",
    "CONTRADA": "CONTRADA",
    "B GO": "BORGO",
    "BGO": "BORGO",
    "BORGO": "BORGO",
    "S P": "STRADA PROVINCIALE",
    "SP": "STRADA PROVINCIALE",
    "S S": "STRADA STATALE",
    "SS": "STRADA STATALE",
    "ST PR": "STRADA PROVINCIALE",
    "STR PROV": "STRADA PROVINCIALE",
    "STR PROV LE": "STRADA PROVINCIALE",
}
_TYPE_PATTERN = re.compile(
    r"^(" + "|".join(sorted((re.escape(k) for k in STREET_TYPES), key=len, reverse=True)) + r")(?= |$)"
)
# Words (after folding) that announce the civic number: "N.", "N°" → N; "Nº" → NO; "N?" is "N°" with "°" lost.
CIVIC_MARKERS: tuple[str, ...] = ("N", "N?", "NO", "NR", "NUM", "NUMERO", "CIV", "CIVICO")
# Markers read before folding, which would make them ambiguous ("C.N." → C N, as in "VIA G. C. N. 5").
MARKER_SPELLINGS: dict[str, str] = {"C.N.": " N. "}
# Words that end an address without a civic number ("S.N.C." = senza numero civico).
NO_NUMBER_WORDS: tuple[str, ...] = ("SNC", "SN", "S N C", "S N")
# Words after a civic number that are its exponent, besides up to three letters or digits (12 BIS).
EXPONENT_WORDS: tuple[str, ...] = ("BIS", "TER", "QUATER")
# Words that start a locality written after the civic number (N. 12 VILL. BADIA), never its exponent.
LOCALITY_WORDS: tuple[str, ...] = ("FRAZ", "FRAZIONE", "LOC", "LOCALITA", "VILL", "VILLAGGIO", "Q RE", "QUARTIERE")
# Street types named by a number (STRADA PROVINCIALE 12): the first number after them is the road's, not a civic.
NUMBERED_ROADS = frozenset({"STRADA PROVINCIALE", "STRADA STATALE", "AUTOSTRADA", "TRAVERSA"})
# A kilometre position along a road (KM 3,5): the address has no civic number.
KILOMETRE = "KM"

_NO_NUMBER = frozenset({"", "0", *NO_NUMBER_WORDS})
_CIVIC = re.compile(r"^(\d+) ?([A-Z0-9?][A-Z0-9? ]{0,15})?$")


def _alternatives(words: tuple[str, ...]) -> str:
    """A regex alternation of the words, longest first."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# On the upper-cased text, before folding loses the punctuation that tells these forms apart:
# a marker glued to the street name (VIA ROMAN.11: the registry's export dropped the space), ...
_GLUED_MARKER = re.compile(rf"(?<=[A-Z'\"?{LOST}])N[.°º?{LOST}](?=\s*-?\s*\d)")
# ... a remark in parentheses, and a locality after a dash that follows the number (17 - MONTANARA, 1/A - B).
_REMARK = re.compile(r"\([^)]*\)?")
_DASHED_TAIL = re.compile(r"^(?P<keep>.*?(?<![\d'])\d+(?:\s*/?\s*[A-Z]{1,3})?)\s*-\s*[A-Z].*$")
# ... and a year written with an elided century (VIA RAGAZZI DEL '99), which is part of the name.
_ELIDED_YEAR = re.compile(r"(?<![A-Z0-9])'(\d{2})(?!\d)")
# On the folded text: a number with an optional exponent, written as a whole word.
_NUMBER = (
    rf"\d+(?: ?(?!(?:{_alternatives(LOCALITY_WORDS)})(?: |$))"
    rf"(?:{_alternatives(EXPONENT_WORDS)}|[A-Z]{{1,3}}|\d{{1,3}})(?= |$))?"
)
_WITHOUT_NUMBER = re.compile(
    rf"^(?P<street>.+?)(?: (?:{_alternatives(CIVIC_MARKERS)}))? (?:{_alternatives(NO_NUMBER_WORDS)})$"
)
_AT_KILOMETRE = re.compile(rf"^(?P<street>.+?) {KILOMETRE} ?\d+(?: \d+)?$")
# After a marker the number is certain, so whatever follows it is a locality and is dropped.
_MARKED = re.compile(rf"^(?P<street>.+?) (?:{_alternatives(CIVIC_MARKERS)}) ?(?P<civic>{_NUMBER})(?: [A-Z].*)?$")
# Without a marker the number must end the address; it may be glued to a word of three letters or a Roman numeral
# (VIA PIAVE11, VIA VITTORIO EMANUELE II14) but not to one or two letters (AUTOSTRADA A4, SP11).
_PLAIN = re.compile(rf"^(?P<street>.*?[A-Z?])(?: |(?<=[A-Z?]{{3}})|(?<=[IVX]{{2}}))(?P<civic>{_NUMBER})$")


def _fold(text: str) -> str:
    """Upper-case ASCII with accents dropped, lost characters kept as ``?``, punctuation as single spaces."""
    text = text.replace(LOST, WILDCARD)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).upper()
    text = re.sub(r"[^A-Z0-9?]+", " ", text)
    return re.sub(r" +", " ", text).strip()


def normalise_street(name: str | None) -> str:
    """The matching key of a street name (``V. G.MARCONI`` → ``VIA G MARCONI``)."""
    if not name:
        return ""
    folded = _fold(name)
    return _TYPE_PATTERN.sub(lambda m: STREET_TYPES[m.group(1)], folded, count=1)


@dataclass(frozen=True)
class Civic:
    """A civic number: ``numero`` with an optional ``esponente`` (``7/D``, ``12 BIS``); ``numero`` None = no number."""

    numero: int | None
    esponente: str | None = None

    @property
    def key(self) -> str:
        """The matching key (``7/D``, ``12``); empty when there is no number."""
        if self.numero is None:
            return ""
        return f"{self.numero}/{self.esponente}" if self.esponente else str(self.numero)


def parse_civic(text: str | None) -> Civic | None:
    """A civic-number cell as ``Civic``; ``Civic(None)`` for none (``0``, ``SNC``, ``0/SNC 2``), None if unreadable.

    Whatever follows the number is its exponent (``7/D``, ``12 BIS``, ``2/P 1``), written with single spaces.
    """
    folded = _fold(text or "")
    if folded in _NO_NUMBER:
        return Civic(None)
    match = _CIVIC.match(folded)
    if match is None:
        return None
    numero = int(match.group(1))
    if numero == 0:
        return Civic(None)
    return Civic(numero, match.group(2) or None)


def split_address(address: str | None) -> tuple[str, Civic | None]:
    """A free-text address (``VIA PAPA GIOVANNI XXIII 29``, ``VIA ROMA N.69``) as its normalised street and civic.

    The civic is ``Civic(None)`` when the address says there is none (``SNC``, ``KM 3,5``) and None when no number
    can be read (``VIA IV NOVEMBRE``: a number in the street's name is never taken for a civic).
    """
    text = (address or "").upper()
    for spelling, marker in MARKER_SPELLINGS.items():
        text = text.replace(spelling, marker)
    text = _GLUED_MARKER.sub(" N. ", text)
    text = _REMARK.sub(" ", text)
    if dashed := _DASHED_TAIL.match(text):
        text = dashed.group("keep")
    folded = _fold(text)
    if match := _WITHOUT_NUMBER.match(folded):
        return normalise_street(match.group("street")), Civic(None)
    if match := _AT_KILOMETRE.match(folded):
        return split_address(match.group("street"))[0], Civic(None)
    match = _MARKED.match(folded) or _PLAIN.match(folded)
    if match is None:
        return normalise_street(address), None
    street, civic = normalise_street(match.group("street")), match.group("civic")
    first, _, rest = civic.partition(" ")
    if street in NUMBERED_ROADS or first in _ELIDED_YEAR.findall(text):
        # the first number is the street's (STRADA PROVINCIALE 12 5, VIA RAGAZZI DEL '99), the civic follows it
        if not rest[:1].isdigit():
            return f"{street} {civic}", None
        street, civic = f"{street} {first}", rest
    return street, parse_civic(civic)
