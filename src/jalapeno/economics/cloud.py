"""Public cloud prices per chip-hour (economics/data/cloud_prices.yaml), with date and source.

The alternative cost basis for real devices: a rented chip-hour already includes the host, the
network, the building and the power, so $/Mtoken on this basis is the price times chips divided by
tokens per hour, nothing added.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from jalapeno.economics.data import check_positive, load
from jalapeno.errors import JalapenoError

TERMS = ("committed", "on-demand")


@dataclass(frozen=True)
class CloudPrice:
    chip: str
    term: str
    usd_per_chip_hour: float
    date: str
    source: str

    def to_dict(self) -> dict:
        return asdict(self)


def cloud_prices(chip_id: str) -> list[CloudPrice]:
    raw, sources = load("cloud_prices")
    out = []
    for key, e in raw["prices"].get(chip_id, {}).items():
        term = key.replace("_", "-")
        v = check_positive("economics/data/cloud_prices.yaml", f"prices.{chip_id}.{key}", e["value"])
        out.append(CloudPrice(chip_id, term, v, str(e.get("date", "")),
                              sources.get(f"prices.{chip_id}.{key}.value", sources.get(f"prices.{chip_id}.{key}", ""))))
    return out


def cloud_price(chip_id: str, term: str | None = None) -> CloudPrice:
    """The chip's price for a term (default: committed if listed, else on-demand)."""
    prices = {p.term: p for p in cloud_prices(chip_id)}
    if term and term not in TERMS:
        raise JalapenoError(f"--cost-basis cloud:{term}: the term must be one of {', '.join(TERMS)}")
    for t in ([term] if term else TERMS):
        if t in prices:
            return prices[t]
    listed = ", ".join(sorted(load("cloud_prices")[0]["prices"]))
    raise JalapenoError(f"--cost-basis cloud: no {term or 'public'} cloud price for '{chip_id}' "
                        f"(listed: {listed}); use --cost-basis build or a $/chip-hour number")


def has_cloud_price(chip_id: str) -> bool:
    return bool(load("cloud_prices")[0]["prices"].get(chip_id))
