"""Who is asking: the user a verified token names, with their force(s), ISA role and (for
a partner) their agency. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from iomkit.identity.isa import investigates

ALL_FORCES = "*"  # the central processing team sees every force


@dataclass(frozen=True)
class Principal:
    username: str
    forces: tuple[str, ...]
    role: str
    agency: str = ""  # a partner's own agency: they see its actions only
    session: str = ""  # the sign-in session the token belongs to (sign-out ends it)
    issuer: str = "throughcare"
    expires: float = float("inf")  # the token's end (epoch seconds): a stream stops there

    @property
    def force(self) -> str:
        """The force a page names the user by (the first, or * for every force)."""
        return ALL_FORCES if ALL_FORCES in self.forces else (self.forces[0] if self.forces
                                                            else "")

    def sees(self, force: str | None) -> bool:
        """Whether a person of ``force`` is one of this user's forces' people."""
        return ALL_FORCES in self.forces or (force is not None and force in self.forces)

    def investigates(self, kind: str, person_force: str | None, crime_force: str | None
                     ) -> bool:
        """Whether this user sees a ``kind`` record about a person of ``person_force`` only
        as police of the force that reported the crime (contract 1.1, isa.INVESTIGATING):
        then with the investigating force's fields."""
        return (investigates(self.role, kind) and not self.sees(person_force)
                and self.sees(crime_force))
