"""referrals' own settings (prefix IOM_REFERRALS_), validated at start."""

from __future__ import annotations

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from iomkit.settings import SettingsError, describe_error
from services.referrals.case.eligibility import DEFAULT_PRIORITIES, ForcePriorities
from services.referrals.case.panel import parse_rule
from services.referrals.case.selection import ProlificRule, ProlificSettings


class ReferralsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IOM_REFERRALS_", extra="ignore", frozen=True)

    panel_rule: str = Field("first Tuesday", description="when a force's MACC panel sits")
    panel_rules: dict[str, str] = Field(
        default_factory=dict, description='per force, e.g. {"Hampshire": "second Wednesday"}')
    free_priorities: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PRIORITIES),
        description="FREE-cohort priorities of every force without its own")
    force_priorities: dict[str, list[str]] = Field(
        default_factory=dict, description="FREE-cohort priorities per force")
    prolific_convictions: int = Field(
        3, ge=1, le=100, description="prolific: neighbourhood crime convictions needed")
    prolific_months: int = Field(12, ge=1, le=120, description="prolific: within this many months")
    force_prolific: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description='per force, e.g. {"Thames Valley": {"convictions": 4, "months": 18}}')
    tick_interval_s: float = Field(3600.0, gt=0, description="how often dates are checked")
    transition_weeks: int = Field(8, ge=0, le=52, description="transition opens this long "
                                  "before the licence end date")
    review_days: int = Field(28, ge=1, description="days between supervisor reviews")
    red_review_days: int = Field(14, ge=1, description="days between reviews while RED")
    checklist_weeks: int = Field(12, ge=0, le=104, description="the pre-release checklist "
                                 "opens this long before release")
    tag_fit_hours: float = Field(24.0, gt=0, le=24 * 14, description="a licence that "
                                 "requires a GPS tag: fitted within this many hours of release")
    tag_max_months: int = Field(12, ge=1, le=60, description="the longest GPS tag monitoring "
                                "(seed 003: up to 12 months)")
    map_interval_days: int = Field(7, ge=1, description="days between MAP meetings")
    timeline_limit: int = Field(500, ge=10, description="timeline entries kept per person")

    @field_validator("panel_rule")
    @classmethod
    def _rule(cls, value: str) -> str:
        parse_rule(value)
        return value

    @field_validator("panel_rules")
    @classmethod
    def _rules(cls, value: dict[str, str]) -> dict[str, str]:
        for rule in value.values():
            parse_rule(rule)
        return value

    @field_validator("force_prolific")
    @classmethod
    def _prolific(cls, value: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for force, rule in value.items():
            unknown = set(rule) - {"convictions", "months"}
            if unknown:
                raise ValueError(f"{force}: unknown keys {sorted(unknown)} (convictions, months)")
            ProlificRule(**rule)
        return value

    def prolific(self) -> ProlificSettings:
        default = ProlificRule(self.prolific_convictions, self.prolific_months)
        return ProlificSettings(default, {
            force: ProlificRule(rule.get("convictions", default.convictions),
                                rule.get("months", default.months))
            for force, rule in self.force_prolific.items()})

    def priorities(self) -> ForcePriorities:
        return ForcePriorities(tuple(self.free_priorities),
                               {f: tuple(p) for f, p in self.force_priorities.items()})

    def panel_rule_of(self, force: str) -> str:
        wanted = " ".join(force.split()).casefold()
        for name, rule in self.panel_rules.items():
            if " ".join(name.split()).casefold() == wanted:
                return rule
        return self.panel_rule


def load() -> ReferralsSettings:
    try:
        return ReferralsSettings()
    except ValidationError as error:
        raise SettingsError(
            f"referrals: {describe_error(error).replace('IOM_', 'IOM_REFERRALS_')}") from None
