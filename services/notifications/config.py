"""notifications' own settings (prefix IOM_NOTIFY_), validated at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from iomkit.settings import SettingsError, describe_error

HERE = Path(__file__).resolve().parent


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IOM_NOTIFY_", extra="ignore", frozen=True)

    subscriptions_file: Path = Field(HERE / "subscriptions.toml",
                                     description="who receives what, under which agreement")

    max_attempts: int = Field(8, ge=1, le=100, description="webhook attempts before FAILED")
    backoff_base_s: float = Field(0.5, gt=0, description="first retry waits up to this")
    backoff_cap_s: float = Field(60.0, gt=0, description="no retry waits longer than this")
    timeout_s: float = Field(5.0, gt=0, description="one webhook request's time limit")
    queue_limit: int = Field(10_000, ge=1, description="notifications waiting for one "
                             "recipient in memory; when full, reading stops until it drains")
    signature_tolerance_s: int = Field(300, ge=1, description="receivers refuse older signatures")

    crime_days: float = Field(31.0, gt=0, description="the console map keeps a crime this "
                              "many days after it was committed (fixes are kept 30)")
    smtp_host: str = Field("", description="SMTP server for e-mail recipients; empty: none")
    smtp_port: int = Field(25, ge=1, le=65535)
    mail_from: str = Field("throughcare@localhost", description="From: of e-mails")

    tile_url: str = Field("", description="the force's tile server, a URL template such as "
                          "https://tiles.force.example/{z}/{x}/{y}.png; empty: no basemap, the "
                          "map draws the evidence alone (trail, crime, scale, north)")
    tile_attribution: str = Field("", description="the tile server's attribution, shown on "
                                  "the map (text, not HTML)")
    leaflet_dir: Path = Field(HERE.parent.parent / ".cache" / "leaflet" / "leaflet-1.9.4",
                              description="Leaflet as `make leaflet` vendors it from npm; "
                              "without it the console draws its own SVG map")
    extra_forces: str = Field("", description="forces beyond the 43 of England and Wales, "
                              "comma separated")
    unfinished_days: float = Field(30.0, gt=0, description="a notification not delivered "
                                   "(FAILED, or for a recipient no longer subscribed) is "
                                   "forgotten this long after it was made: a redelivery "
                                   "reaches back this far")
    told_days: float = Field(90.0, gt=0, description="what was told about a hit, grade or "
                             "alert is remembered this long (a hit can change for 30 days, "
                             "as long as its fixes are kept); a replay of older records after "
                             "that could tell again, with the same notification ids")
    person_wait_s: float = Field(3.0, ge=0, description="how long a record about a person not "
                                 "yet on iom.people waits for them before it is dead-lettered")

    @field_validator("tile_url")
    @classmethod
    def _tile_template(cls, url: str) -> str:
        # the page's policy allows images from exactly this origin: it must be one
        if url and (not url.startswith(("https://", "http://")) or
                    not all(p in url for p in ("{z}", "{x}", "{y}")) or "{s}" in url):
            raise ValueError("an http(s) URL template with {z}, {x} and {y} (no {s}), "
                             "or empty")
        return url

    def forces(self) -> tuple[str, ...]:
        return tuple(f.strip() for f in self.extra_forces.split(",") if f.strip())


def load() -> NotifySettings:
    try:
        return NotifySettings()
    except ValidationError as error:
        raise SettingsError(
            f"notifications: {describe_error(error).replace('IOM_', 'IOM_NOTIFY_')}") from None
