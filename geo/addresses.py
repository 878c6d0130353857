"""Normalised Italian street names and civic numbers, so that addresses from different registries can be matched.

The rules are data (``STREET_TYPES``), applied the same way to every source: upper case, accents dropped,
punctuation folded, the abbreviated street type expanded (``V.`` → ``VIA``, ``P.ZA`` → ``PIAZZA``). A character
the source lost (U+FFFD) is kept as ``?`` so that matching can treat it as a one-letter wildcard.
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
}
_TYPE_PATTERN = re.compile(
    r"^(" + "|".join(sorted((re.escape(k) for k in STREET_TYPES), key=len, reverse=True)) + r")(?= |$)"
)
_NO_NUMBER = frozenset({"", "0", "SNC", "SN", "S N C", "S N"})
_CIVIC = re.compile(r"^(\d+) ?([A-Z0-9?][A-Z0-9? ]{0,15})?$")
_ADDRESS = re.compile(r"^(?P<street>.*?\D)[\s,]+(?P<civic>\d+\s*(?:/\s*|\s+)?(?:[A-Z]{1,3}|BIS|TER|QUATER|\d{1,3})?)$")


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
    """A free-text address (``VIA PAPA GIOVANNI XXIII 29``) as its normalised street and civic number."""
    folded = _fold(address or "")
    for suffix in (" SNC", " SN", " S N C"):
        if folded.endswith(suffix):
            return normalise_street(folded[: -len(suffix)]), Civic(None)
    match = _ADDRESS.match((address or "").upper().replace(",", " ").strip())
    if match is None:
        return normalise_street(address), None
    return normalise_street(match.group("street")), parse_civic(match.group("civic"))
