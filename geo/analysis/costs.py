"""The cost model of a fibre plan (DOMAIN §4.2): backhaul along roads (civil works by method and road class, plus
cable), distribution per civic number passed by density class, and one drop per civic number. Every figure comes
from ``geo/reference/unit_costs.csv`` as a low, central and high value, brought to the last year of
``price_index.csv``; choices come from a scenario."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from geo.reference import ReferenceTableError, read_rows

Method = Literal["trench", "minitrench", "duct_reuse", "aerial"]
Bound = Literal["low", "central", "high"]
BOUNDS: tuple[Bound, ...] = ("low", "central", "high")
OPPOSITE: dict[Bound, Bound] = {"low": "high", "central": "central", "high": "low"}
METHODS: tuple[Method, ...] = ("trench", "minitrench", "duct_reuse", "aerial")
CostClass = Literal["urban", "suburban", "rural"]
# figures the model cannot run without; each must have at least its central value
REQUIRED = (
    "civil_trench",
    "civil_minitrench",
    "duct_reuse_saving",
    "aerial_factor",
    "cable",
    "drop",
    "premise_urban",
    "premise_suburban",
    "premise_rural",
    "households_per_civic",
    "opex_share",
    "discount_rate",
    "horizon_years",
    "cost_cap_factor",
)


# a scenario's name names its runs' download files: ASCII letters, digits, '_', '.', '-' travel in any file system
# and HTTP header
SCENARIO_NAME = r"^[A-Za-z0-9_.-]{1,64}$"


class Scenario(BaseModel):
    """A named set of choices: build method, budget, benefit weights, exclusions, fibre-source proxy, discounting.

    The benefit is counted in persons: ``weight_population`` per person without the service, ``weight_households``
    per household, ``weight_civici`` per civic number and ``weight_schools`` persons per school on the list.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="default", pattern=SCENARIO_NAME)
    method: Method = "minitrench"
    budget_eur: float = Field(default=5_000_000, ge=0)
    weight_population: float = Field(default=1.0, ge=0)
    weight_households: float = Field(default=0.0, ge=0)
    weight_civici: float = Field(default=0.0, ge=0)
    weight_schools: float = Field(default=250.0, ge=0, description="persons one school counts for (pupils, staff)")
    stability_threshold_step: float = Field(
        default=0.1, gt=0, le=0.5, description="the source threshold is moved by this much each way to test the ranking"
    )
    exclude_excluded_classes: bool = True
    fibre_source_min_ftth_share: float = Field(default=0.8, ge=0, le=1)
    discount_rate: float | None = Field(default=None, ge=0, description="None: the reference table's value")
    horizon_years: int | None = Field(default=None, ge=1)


@dataclass(frozen=True)
class UnitCosts:
    """Cost figures at their low, central and high values in ``price_year`` euros, and the road-class factors."""

    version: str
    price_year: int
    values: dict[str, dict[Bound, float]]
    multipliers: dict[str, float]  # inf = excluded
    sources: dict[str, str]

    def value(self, item: str, bound: Bound = "central") -> float:
        """The figure of ``item`` at ``bound``."""
        return self.values[item][bound]

    def cost_cap(self) -> float:
        """Capex per location (civic number, or school address), connections excluded, above which a target is flagged
        for FWA or satellite: ``cost_cap_factor`` times the Italia 1 Giga lot's total per civic number (DOMAIN §6
        invariant 22)."""
        return self.value("cost_cap_factor") * self.value("premise_rural")

    def civil_per_m(self, method: Method, bound: Bound = "central") -> float:
        """Civil-works cost per metre of trench by ``method``; duct reuse and aerial are priced off the minitrench
        figure."""
        minitrench = self.value("civil_minitrench", bound)
        # the high cost goes with the low saving and the low cost with the high one
        saving = self.value("duct_reuse_saving", OPPOSITE[bound])
        return {
            "trench": self.value("civil_trench", bound),
            "minitrench": minitrench,
            "duct_reuse": (1 - saving) * minitrench,
            "aerial": self.value("aerial_factor", bound) * minitrench,
        }[method]

    def premise(self, cost_class: str, bound: Bound = "central") -> float:
        """Distribution cost of passing one civic number in a cell of ``cost_class``."""
        return self.value(f"premise_{cost_class}", bound)

    def multiplier(self, highway: str, exclude: bool) -> float:
        """Cost factor of road class ``highway`` (``*`` when unlisted); an excluded class counts 1 unless
        ``exclude``."""
        value = self.multipliers.get(highway, self.multipliers["*"])
        return 1.0 if math.isinf(value) and not exclude else value


def _index(rows: list[dict[str, str]]) -> tuple[int, dict[int, float]]:
    index = {int(r["year"]): float(r["index"]) for r in rows}
    return max(index), index


def build_unit_costs(
    rows: list[dict[str, str]], index_rows: list[dict[str, str]], multiplier_rows: list[dict[str, str]]
) -> UnitCosts:
    """Unit costs from table rows, refused (naming the item) when a figure is missing, has no price year in the
    index, or its low, central and high values are out of order once brought to the same year."""
    target, index = _index(index_rows)
    values: dict[str, dict[Bound, float]] = {}
    sources: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        bound = row["bound"]
        if bound not in BOUNDS:
            raise ReferenceTableError(f"unit_costs.csv row {number} ({row['item']}): bound must be low/central/high")
        year = int(row["price_year"])
        if year not in index:
            raise ReferenceTableError(f"unit_costs.csv row {number} ({row['item']}): no price index for {year}")
        money = row["unit"].startswith("EUR")
        factor = index[target] / index[year] if money else 1.0
        values.setdefault(row["item"], {})[bound] = float(row["value"]) * factor  # type: ignore[index]
        if bound == "central":
            sources[row["item"]] = f"{row['source']} [{row['status']}]"
    missing = [item for item in REQUIRED if "central" not in values.get(item, {})]
    if missing:
        raise ReferenceTableError(f"unit_costs.csv: no central value for {', '.join(missing)}")
    for item, by_bound in values.items():
        low = by_bound.setdefault("low", by_bound["central"])
        high = by_bound.setdefault("high", by_bound["central"])
        if not low <= by_bound["central"] <= high:
            raise ReferenceTableError(f"unit_costs.csv ({item}): low ≤ central ≤ high does not hold in {target} euros")
    costs = UnitCosts(
        version=max(r["version"] for r in rows + multiplier_rows),
        price_year=target,
        values=values,
        multipliers={
            r["highway"]: math.inf if r["multiplier"] == "excluded" else float(r["multiplier"]) for r in multiplier_rows
        },
        sources=sources,
    )
    for method in METHODS:  # the order must hold for the costs the model uses, not only for the table's rows
        low, central, high = (costs.civil_per_m(method, b) for b in BOUNDS)
        if not low <= central <= high:
            raise ReferenceTableError(f"unit_costs.csv: civil works by {method}: low ≤ central ≤ high does not hold")
    return costs


@lru_cache
def unit_costs() -> UnitCosts:
    """The bundled unit costs, price-indexed and road-class factors included (read once)."""
    return build_unit_costs(read_rows("unit_costs"), read_rows("price_index"), read_rows("highway_multipliers"))


@dataclass(frozen=True)
class Geotypes:
    """Density classes of census cells (DOMAIN §4.2), densest first, each with the cost class it is priced at."""

    version: str
    names: tuple[str, ...]
    minimums: np.ndarray
    cost_classes: tuple[str, ...]
    labels: dict[str, str]

    def classify(self, density: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Geotype and cost class of each density (persons per km² of land); an unknown density takes the sparsest
        class (the dearest: no cost is understated for want of data)."""
        values = np.nan_to_num(np.asarray(density, dtype=float), nan=-1.0)  # below every density: the last class
        position = np.argmax(values[:, None] > self.minimums[None, :], axis=1)
        return np.array(self.names, dtype=object)[position], np.array(self.cost_classes, dtype=object)[position]


@lru_cache
def geotypes() -> Geotypes:
    """The bundled geotype classes, densest first; the sparsest takes every density below the others (read once)."""
    rows = sorted(read_rows("geotypes"), key=lambda r: -float(r["density_min"]))
    minimums = np.array([float(r["density_min"]) for r in rows])
    minimums[-1] = -np.inf  # the last class takes every cell
    return Geotypes(
        version=max(r["version"] for r in rows),
        names=tuple(r["geotype"] for r in rows),
        minimums=minimums,
        cost_classes=tuple(r["cost_class"] for r in rows),
        labels={r["geotype"]: r["label_it"] for r in rows},
    )


def edge_costs(
    lengths: np.ndarray, highways: np.ndarray, scenario: Scenario, costs: UnitCosts, bound: Bound = "central"
) -> np.ndarray:
    """€ per edge: length × (civil €/m × class multiplier + cable €/m); inf where the class is excluded."""
    civil = costs.civil_per_m(scenario.method, bound)
    factors = np.array([costs.multiplier(h, scenario.exclude_excluded_classes) for h in highways], dtype=float)
    return lengths * (civil * factors + costs.value("cable", bound))


def npv(capex: float | np.ndarray, scenario: Scenario, costs: UnitCosts) -> float | np.ndarray:
    """Capex plus the discounted yearly opex over the horizon."""
    rate = scenario.discount_rate if scenario.discount_rate is not None else costs.value("discount_rate")
    years = scenario.horizon_years or int(costs.value("horizon_years"))
    annuity = sum(1 / (1 + rate) ** t for t in range(1, years + 1))
    return capex * (1 + costs.value("opex_share") * annuity)


def scenarios() -> dict[str, Scenario]:
    """The named scenarios of ``geo/reference/scenarios.json``."""
    data = json.loads((Path(__file__).parents[1] / "reference" / "scenarios.json").read_text())
    return {item["name"]: Scenario(**item) for item in data["scenarios"]}
