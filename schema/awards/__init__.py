"""Award flights: search and quote, booking and cancelling, the identity check, MilesPay (DOMAIN.md 2, 7)."""
