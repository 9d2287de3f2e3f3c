"""Rewards: the catalogue, redemptions paid with award miles, and the member's reward goal."""
