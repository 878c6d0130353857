"""The cost model of a fibre route (DOMAIN §4.2): civil works by method and road class, plus cable; reference
values from ``geo/reference/unit_costs.csv`` and ``highway_multipliers.csv``, choices from a scenario."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from geo.reference import read_rows

Method = Literal["trench", "minitrench", "duct_reuse", "aerial"]


class Scenario(BaseModel):
    """A named set of choices: build method, budget, benefit weights, exclusions and discounting."""

    name: str = "default"
    method: Method = "minitrench"
    budget_eur: float = Field(default=5_000_000, ge=0)
    weight_population: float = Field(default=1.0, ge=0)
    weight_households: float = Field(default=0.0, ge=0)
    weight_civici: float = Field(default=1.0, ge=0)
    weight_schools: float = Field(default=1.0, ge=0)
    exclude_excluded_classes: bool = True
    fibre_source_min_ftth_share: float = Field(default=0.8, ge=0, le=1)
    discount_rate: float | None = Field(default=None, ge=0, description="None: the reference table's value")
    horizon_years: int | None = Field(default=None, ge=1)


@dataclass(frozen=True)
class UnitCosts:
    version: str
    values: dict[str, float]
    multipliers: dict[str, float]  # inf = excluded

    def civil_per_m(self, method: Method) -> float:
        minitrench = self.values["civil_minitrench"]
        return {
            "trench": self.values["civil_trench"],
            "minitrench": minitrench,
            "duct_reuse": (1 - self.values["duct_reuse_saving"]) * minitrench,
            "aerial": self.values["aerial_factor"] * minitrench,
        }[method]

    def multiplier(self, highway: str, exclude: bool) -> float:
        value = self.multipliers.get(highway, self.multipliers["*"])
        return 1.0 if math.isinf(value) and not exclude else value


@lru_cache
def unit_costs() -> UnitCosts:
    values = read_rows("unit_costs")
    multipliers = read_rows("highway_multipliers")
    return UnitCosts(
        version=max(r["version"] for r in values + multipliers),
        values={r["item"]: float(r["value"]) for r in values},
        multipliers={
            r["highway"]: math.inf if r["multiplier"] == "excluded" else float(r["multiplier"]) for r in multipliers
        },
    )


def edge_costs(lengths: np.ndarray, highways: np.ndarray, scenario: Scenario, costs: UnitCosts) -> np.ndarray:
    """€ per edge: length × (civil €/m × class multiplier + cable €/m); inf where the class is excluded."""
    civil = costs.civil_per_m(scenario.method)
    factors = np.array([costs.multiplier(h, scenario.exclude_excluded_classes) for h in highways], dtype=float)
    return lengths * (civil * factors + costs.values["cable"])


def npv(capex: float | np.ndarray, scenario: Scenario, costs: UnitCosts) -> float | np.ndarray:
    """Capex plus the discounted yearly opex over the horizon."""
    rate = scenario.discount_rate if scenario.discount_rate is not None else costs.values["discount_rate"]
    years = scenario.horizon_years or int(costs.values["horizon_years"])
    annuity = sum(1 / (1 + rate) ** t for t in range(1, years + 1))
    return capex * (1 + costs.values["opex_share"] * annuity)


def scenarios() -> dict[str, Scenario]:
    """The named scenarios of ``geo/reference/scenarios.json``."""
    data = json.loads((Path(__file__).parents[1] / "reference" / "scenarios.json").read_text())
    return {item["name"]: Scenario(**item) for item in data["scenarios"]}
