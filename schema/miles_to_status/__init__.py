"""Miles to status (DOMAIN.md 3.4): what a credit-card holder may exchange this year, and the exchange."""
