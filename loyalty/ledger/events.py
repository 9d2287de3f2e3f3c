"""Names of the live-update channels the ledger's changes are announced on (pub/sub port)."""

from __future__ import annotations


def balance_channel(account_id: int) -> str:
    """One channel per member; the hash tag keeps it on the member's Redis Cluster slot."""
    return f"balances:{{acct:{account_id}}}"
