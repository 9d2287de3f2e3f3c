"""Mileage pooling (DOMAIN.md 7): a household's award miles in one virtual balance, redeemed by its adults."""
