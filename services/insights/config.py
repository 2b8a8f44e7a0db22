"""insights' own settings (prefix IOM_INSIGHTS_), validated at start."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from iomkit.settings import ROOT, SettingsError, describe_error


class InsightsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IOM_INSIGHTS_", extra="ignore", frozen=True)

    store_file: Path | None = Field(None, description="the DuckDB file; unset: "
                                    "IOM_STORE_DIR/insights/insights.duckdb")
    suppress_below: int = Field(5, ge=1, le=100, description="counts below this are "
                                "suppressed in anything that leaves a force (all forces, "
                                "another force's view), as official statistics do")
    unit_costs_file: Path = Field(ROOT / "deploy" / "insights" / "unit_costs.toml",
                                  description="cost of one offence per category, with its "
                                  "source")
    synthetic: bool = Field(False, description="the page says its data is synthetic (demo)")
    refresh_s: float = Field(30.0, gt=0, description="how often the Prometheus gauges are "
                             "recomputed")


@dataclass(frozen=True)
class UnitCosts:
    source: str
    costs: dict[str, float]


def unit_costs(path: Path) -> UnitCosts:
    """The file names its source; a category without a published value is left out (the
    page lists it as not costed), never filled with a guess."""
    data = tomllib.loads(path.read_text())
    source = str(data.get("source", "")).strip()
    if not source:
        raise ValueError(f"{path}: 'source' must name where the figures come from")
    costs = {}
    for category, value in (data.get("costs") or {}).items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{path}: costs.{category} must be a number of pounds >= 0")
        costs[str(category)] = float(value)
    return UnitCosts(source, costs)


def load() -> tuple[InsightsSettings, UnitCosts]:
    try:
        settings = InsightsSettings()
    except ValidationError as error:
        raise SettingsError(
            f"insights: {describe_error(error).replace('IOM_', 'IOM_INSIGHTS_')}") from None
    try:
        return settings, unit_costs(settings.unit_costs_file)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"insights: IOM_INSIGHTS_UNIT_COSTS_FILE: {error}") from None
