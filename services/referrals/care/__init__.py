"""Care of a person on the cohort, pure: needs against the seven pathways, the intervention
plan, through-the-gate work around a prison spell, and casework, which keeps them in the
dossier."""
