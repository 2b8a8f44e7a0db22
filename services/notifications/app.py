"""notifications: tells police and partners what the other services found.

Walking skeleton: every RiskGrade is received, counted and logged (no person id above
debug). Routing, webhooks and the live console come with the notifications issue.
"""

from __future__ import annotations

from iomkit import topics
from iomkit.records import RiskGrade
from iomkit.service import Context, Service
from services.notifications.routing import grade_summary

service = Service("notifications")
app = service.app


@service.agent(topics.RISK_GRADES)
async def grade_received(grade: RiskGrade, context: Context) -> None:
    service.log.info("grade.received", cause=context.cause, **grade_summary(grade.asdict()))
    service.log.debug("grade.received.person", person_id=grade.person_id)


if __name__ == "__main__":
    service.main()
