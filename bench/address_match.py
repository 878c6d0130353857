"""How well ``geo.addresses`` reads the MIM school addresses, and how many of them meet the Infratel list.

Reports, per registry file: addresses with a civic number, explicitly without one (``SNC``, ``KM``), unreadable
(civic None) and streets left with a dangling civic marker (``VIA ROMA N``); the unreadable ones grouped by form with
samples; and the school addresses whose (ISTAT municipality, street key, civic key) or (municipality, street key)
appear in the Infratel list of civic numbers without >300 Mbit/s by 2028.

Usage: python -m bench.address_match [--sources ../shared/data] [--samples 4]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from geo.addresses import Civic, normalise_street, parse_civic, split_address

REPO = Path(__file__).resolve().parents[1]
SCHOOL_FILES = ("miur_scuole/scuole_statali_2025_26.csv", "miur_scuole/scuole_paritarie_2023_24.csv")
INFRATEL_FILE = "infratel_mappatura2025_civici_non_coperti/civici_non_coperti_300mbps_2028.csv"
CODES_FILE = "istat_comuni_boundaries/comuni_codici_istat_cap.csv"
MARKER_WORDS = ("N", "NR", "NUM", "NUMERO", "CIV", "CIVICO", "NO")

# Forms of the unreadable addresses, tried in order on the upper-cased text; the first that matches names the form.
FORMS: tuple[tuple[str, str], ...] = (
    ("missing (Non Disponibile)", r"^NON DISPONIBILE$"),
    ("no digit in the text", r"^[^0-9]*$"),
    ("marker glued to the name (ROMAN.11)", r"[A-Z'\"]N[.°?]\s*-?\s*\d"),
    ("marker before the number (N.9, NR. 5, N°8)", r"\b(?:N|NR|NUM|CIVICO|C\.N)\s*[.°?]?\s*\d"),
    ("kilometre (KM 150)", r"\bKM\s*\d"),
    ("range (11-13)", r"\d+\s*-\s*\d+$"),
    ("text after the number (- FORNACI, (…))", r"\d[A-Z/ ]{0,4}\s*[-(]"),
    ("number glued to the name (PIAVE11, II14)", r"[A-Z']{2}\d+[A-Z/\d]*$"),
    ("other", r""),
)


def read_schools(sources: Path) -> pd.DataFrame:
    """Both registry files, with the ISTAT code of the municipality from its cadastral code."""
    codes = pd.read_csv(sources / CODES_FILE, dtype=str, keep_default_na=False)
    istat = dict(zip(codes["com_catasto_code"].str.upper(), codes["com_istat_code"], strict=True))
    frames = []
    for name in SCHOOL_FILES:
        frame = pd.read_csv(sources / name, dtype=str, keep_default_na=False)
        frames.append(
            pd.DataFrame(
                {
                    "file": Path(name).name,
                    "address": frame["INDIRIZZOSCUOLA"],
                    "istat": frame["CODICECOMUNESCUOLA"].str.upper().map(istat),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def infratel_keys(sources: Path) -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    """(ISTAT code, street key, civic key) and (ISTAT code, street key) of every listed civic number."""
    frame = pd.read_csv(sources / INFRATEL_FILE, dtype=str, keep_default_na=False)
    streets = frame["strada"].map({s: normalise_street(s) for s in frame["strada"].unique()})
    civics = frame["civico"].map({c: (parse_civic(c) or Civic(None)).key for c in frame["civico"].unique()})
    addresses = set(zip(frame["com_istat_code"], streets, civics, strict=True))
    return addresses, set(zip(frame["com_istat_code"], streets, strict=True))


def form_of(address: str) -> str:
    """The name of the first form in ``FORMS`` that the address has."""
    text = address.upper().strip()
    return next(label for label, pattern in FORMS if re.search(pattern, text))


def dangling(street: str) -> bool:
    """Whether a street key still ends with a civic-number marker word."""
    return street.rsplit(" ", 1)[-1] in MARKER_WORDS and " " in street


def report(sources: Path, samples: int) -> str:
    schools = read_schools(sources)
    parsed = schools["address"].map(split_address)
    schools["street"] = parsed.str[0]
    schools["civic"] = parsed.str[1]
    schools["numbered"] = schools["civic"].map(lambda c: c is not None and c.numero is not None)
    schools["none"] = schools["civic"].map(lambda c: c is not None and c.numero is None)
    schools["unreadable"] = schools["civic"].isna()
    schools["dangling"] = schools["street"].map(dangling)

    lines = [
        "| file | addresses | with civic number | no number (SNC, KM) | unreadable | street with dangling marker |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, group in [*schools.groupby("file", sort=False), ("total", schools)]:
        lines.append(
            f"| {name} | {len(group)} | {group['numbered'].sum()} | {group['none'].sum()} "
            f"| {group['unreadable'].sum()} | {group['dangling'].sum()} |"
        )

    unreadable = schools.loc[schools["unreadable"], "address"]
    forms = unreadable.map(form_of)
    lines += ["", "Unreadable addresses by form (samples):", ""]
    for label, count in Counter(forms).most_common():
        sample = "; ".join(f"`{a}`" for a in unreadable[forms == label].drop_duplicates().head(samples))
        lines.append(f"- {label}: {count} — {sample}")

    addresses, streets = infratel_keys(sources)
    located = schools[schools["istat"].notna()]
    numbered = located[located["numbered"]]
    civic_keys = numbered["civic"].map(lambda c: c.key)
    address_hits = sum(key in addresses for key in zip(numbered["istat"], numbered["street"], civic_keys, strict=True))
    street_hits = sum(key in streets for key in zip(located["istat"], located["street"], strict=True))
    lines += [
        "",
        f"Infratel: {len(addresses)} distinct listed addresses. "
        f"Schools with an ISTAT code: {len(located)} of {len(schools)}.",
        f"- school addresses whose (municipality, street, civic) is listed: {address_hits}",
        f"- school addresses whose (municipality, street) has a listed civic number: {street_hits}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--samples", type=int, default=4, help="sample addresses shown per form")
    args = parser.parse_args()
    print(report(args.sources, args.samples))


if __name__ == "__main__":
    main()
