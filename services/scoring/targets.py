"""Progress against targets (一)(十九): what a 市州's scorecard shows of the targets the office
set for it (`target.set`, kept by tracking): per indicator the year's and the quarter's target,
the quarter's actual and the year's so far, and the share of the year's target reached.

The actuals are the rankings' own (the same counting as the quarter's ranking); nothing here
changes a ranking or its hash. Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from services.kernel.contract.vocabulary import TARGET_INDICATORS
from services.scoring.facts import Facts

_CENT = Decimal("0.01")

# quarter -> that quarter's ranking rows by region (the ranking the card belongs to, and the
# year's earlier quarters in the same view)
RowsOf = Callable[[str], Mapping[str, Mapping]]


def progress(facts: Facts, region: str, quarter: str, rows_of: RowsOf) -> list[dict]:
    """Each indicator with a target set for the 市州's year, with its progress."""
    year = quarter[:4]
    wanted = [
        (key, yearly)
        for key in TARGET_INDICATORS
        if (yearly := facts.yearly_target(region, year, key)) is not None
    ]
    if not wanted:
        return []
    quarters = [f"{year}Q{n}" for n in range(1, int(quarter[-1]) + 1)]
    rows = {q: rows_of(q).get(region) for q in quarters}
    found = []
    for key, yearly in wanted:
        actuals = [_actual(rows[q], key) for q in quarters]
        so_far = sum(actuals, Decimal(0))
        found.append(
            {
                "indicator": key,
                "yearly_target": str(yearly),
                "quarter_target": str(_cents(facts.target(region, quarter, key) or Decimal(0))),
                "quarter_actual": str(actuals[-1]),
                "year_to_date": str(so_far),
                "share_of_year": str(_cents(so_far / yearly)),
            }
        )
    return found


def _actual(row: Mapping | None, key: str) -> Decimal:
    if row is None or key not in row["indicators"]:
        return Decimal(0)
    return Decimal(row["indicators"][key]["actual"])


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)
