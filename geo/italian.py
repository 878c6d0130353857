"""Numbers written the Italian way (``1.234,5``; ``€ 12.300``) for every text a planner or an officer reads."""

from __future__ import annotations


def number(value: float, decimals: int = 0) -> str:
    """``1234.5`` → ``1.234,5`` (thousands with dots, decimals after a comma)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")


def euro(value: float) -> str:
    """``1234567.8`` → ``€ 1.234.568``."""
    return f"€ {number(value)}"
