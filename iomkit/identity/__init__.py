"""One identity for every service: users, sign-in sessions, signed tokens, the ISA table
and the guard every request passes (see guard.py)."""

from iomkit.identity.guard import (
    Forbidden,
    NotSignedIn,
    Rule,
    allow,
    check_force,
    principal_of,
    public,
    purpose_of,
)
from iomkit.identity.principal import Principal

__all__ = ["Forbidden", "NotSignedIn", "Principal", "Rule", "allow", "check_force",
           "principal_of", "public", "purpose_of"]
