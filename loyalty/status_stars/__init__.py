"""Status Stars of the old status programme (DOMAIN.md 4), imported once by an operator."""
