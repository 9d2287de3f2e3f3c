"""The member dashboard: the member, card, balances, first statement page, miles expiring and offers read
together (fixed SQL). Above members, ledger and offers: it reads all of them."""
