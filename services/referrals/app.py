"""referrals: the IOM case lifecycle, from referral to de-registration.

Walking skeleton: every Referral is checked and kept as the person's open referral; a
second open referral for the same person is logged as a duplicate. Panel decisions and
cohort changes come with the referrals issue.
"""

from __future__ import annotations

from iomkit import topics
from iomkit.records import Referral
from iomkit.service import Context, Service
from services.referrals.intake import check_referral

service = Service("referrals")
app = service.app
open_referrals = service.table("open-referrals")


@service.agent(topics.REFERRALS)
async def referral_received(referral: Referral, context: Context) -> None:
    existing = open_referrals.get(referral.person_id.encode())
    outcome = check_referral(referral.asdict(), existing)
    if outcome.accepted:
        open_referrals[referral.person_id.encode()] = outcome.kept
    service.log.info(
        "referral.received", referral_id=referral.referral_id, outcome=outcome.summary,
        cohort=referral.proposed_cohort, urgent=referral.urgent,
    )


if __name__ == "__main__":
    service.main()
