"""The IOM case, pure: a person's dossier and the rules it applies: referral intake, cohort
eligibility, the MACC panel, the case lifecycle after it and youth to adult transfer."""
