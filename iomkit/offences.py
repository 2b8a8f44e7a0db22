"""The contract's offence categories and static risk bands: reference data every service
names offences and bands by (risk scores them, referrals advises on them), not logic."""

from __future__ import annotations

from typing import Final

#: OGRS3's current-offence categories, the values of `Person.current_offence` and
#: `OffenderEvent.offence` (risk-model.md).
OFFENCE_CATEGORIES: Final[tuple[str, ...]] = (
    "VIOLENCE", "ROBBERY", "PUBLIC_ORDER", "SEXUAL_NOT_CHILD", "SEXUAL_CHILD",
    "SOLICITING_PROSTITUTION", "BURGLARY_DOMESTIC", "BURGLARY_OTHER", "CRIMINAL_DAMAGE",
    "DRUG_POSSESSION_SUPPLY", "THEFT_NON_MOTOR", "HANDLING_STOLEN_GOODS", "FRAUD_FORGERY",
    "ABSCONDING_BAIL", "TAKING_DRIVING_AWAY", "THEFT_FROM_VEHICLE", "OTHER_MOTORING",
    "DRINK_DRIVING", "DRUG_IMPORT_EXPORT_PRODUCTION", "OTHER",
)

#: `RiskGrade.static_band`, lowest first.
STATIC_BANDS: Final[tuple[str, ...]] = ("LOW", "MEDIUM", "HIGH", "VERY_HIGH")
