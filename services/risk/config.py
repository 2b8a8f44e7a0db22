"""The risk service's own settings (prefix IOM_RISK_), validated at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from iomkit.settings import SettingsError, describe_error
from services.risk import rules

HERE = Path(__file__).resolve().parent


class RiskSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IOM_RISK_", extra="ignore", frozen=True)

    rules_file: Path = Field(HERE / "rules.toml", description="dynamic rules (TOML)")
    review_interval_s: float = Field(
        86400.0, gt=0, description="how often every grade is reviewed for time passing"
    )
    complete_grades: bool = Field(
        False, description="also publish unchanged grades whose reasons changed"
    )


def load() -> tuple[RiskSettings, rules.Rules]:
    try:
        settings = RiskSettings()
    except ValidationError as error:
        raise SettingsError(f"risk: {describe_error(error).replace('IOM_', 'IOM_RISK_')}"
                            ) from None
    try:
        return settings, rules.load(settings.rules_file)
    except (OSError, rules.RulesError) as error:
        raise SettingsError(f"risk: IOM_RISK_RULES_FILE: {error}") from None
