"""Miles to status (DOMAIN.md 3.4): credit-card holders with the feature exchange award miles for Points and
Qualifying Points, once per calendar year, from miles earned with the card."""
