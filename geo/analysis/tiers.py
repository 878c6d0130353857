"""Tiering of a location by its best peak-hour speed (DOMAIN §3.2), with cut points from the threshold registry."""

from __future__ import annotations

from geo.reference import Thresholds, speed_thresholds

TIER_NAMES = ("none", "basic", "nga", "100-300", "300-1000", "gigabit")


def tier(down_mbps: float, up_mbps: float, thresholds: Thresholds | None = None) -> int:
    """0 none/<2 · 1 basic · 2 NGA 30–100 · 3 100–300 · 4 300–1000 · 5 gigabit (non-decreasing in both speeds)."""
    t = thresholds or speed_thresholds()
    gigabit, i1g, ufb, nga, basic = t["VHCN_FIXED"], t["I1G_ELIGIBLE_300"], t["UFB_100"], t["NGA_30"], t["BASIC_2"]
    if down_mbps >= gigabit.down_mbps and up_mbps >= (gigabit.up_mbps or 0):
        return 5
    if down_mbps >= i1g.down_mbps:
        return 4
    if down_mbps >= ufb.down_mbps:
        return 3
    if down_mbps >= nga.down_mbps and up_mbps >= (nga.up_mbps or 0):
        return 2
    if down_mbps >= basic.down_mbps:
        return 1
    return 0
