"""gps_stream's own settings (prefix IOM_GPS_), validated at start."""

from __future__ import annotations

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from iomkit.settings import SettingsError, describe_error
from services.gps_stream.hitrule import HitRuleSettings

DAY_MS = 86_400_000


class GpsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IOM_GPS_", extra="ignore", frozen=True)

    window_min: int = Field(15, ge=0, le=24 * 60, description="hit rule: minutes around a crime")
    max_fix_accuracy_m: float = Field(200.0, gt=0, description="hit rule: vaguest evidence fix")
    base_radius_m: float = Field(100.0, gt=0, description="hit rule: distance before accuracies")
    retention_days: float = Field(30.0, gt=0, description="trails are kept this long")
    purge_interval_s: float = Field(3600.0, gt=0, description="how often old fixes are purged")
    future_tolerance_s: float = Field(600.0, ge=0, description="a fix later than now + this "
                                      "is refused")

    silence_s: float = Field(1800.0, gt=0, description="a fitted tag silent this long alerts")
    unusable_after: int = Field(5, ge=1, description="this many vague fixes in a row alert")
    health_interval_s: float = Field(60.0, gt=0, description="how often silence is checked")

    crime_file_max_bytes: int = Field(64 << 20, ge=1024, description="the largest crime file "
                                      "POSTed to /crimes/upload (streamed to disk, not memory)")

    def rule(self) -> HitRuleSettings:
        return HitRuleSettings(self.window_min, self.max_fix_accuracy_m, self.base_radius_m)

    @property
    def retention_ms(self) -> int:
        return int(self.retention_days * DAY_MS)


def load() -> GpsSettings:
    try:
        return GpsSettings()
    except ValidationError as error:
        raise SettingsError(
            f"gps_stream: {describe_error(error).replace('IOM_', 'IOM_GPS_')}") from None
