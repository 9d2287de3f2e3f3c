"""Per-request DataLoaders over ``resolvers.loaders`` and ``resolvers.entities``: one per access pattern."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from strawberry.dataloader import DataLoader

from loyalty.auth.models import LinkedIdentity
from loyalty.ledger.models import Currency
from loyalty.members.models import Member, ServiceCard
from resolvers import entities, loaders


class Loaders:
    """Each made at its first use in the request: most requests need none or one of them."""

    @cached_property
    def member_by_id(self) -> DataLoader[int, Member | None]:
        return DataLoader(load_fn=loaders.members_by_id)

    @cached_property
    def active_card_by_account(self) -> DataLoader[int, ServiceCard | None]:
        return DataLoader(load_fn=loaders.active_card_by_account)

    @cached_property
    def balances_by_account(self) -> DataLoader[int, dict[Currency, int]]:
        return DataLoader(load_fn=loaders.balances_by_account)

    @cached_property
    def two_factor_by_account(self) -> DataLoader[int, bool]:
        return DataLoader(load_fn=loaders.two_factor_by_account)

    @cached_property
    def identities_by_account(self) -> DataLoader[int, list[LinkedIdentity]]:
        return DataLoader(load_fn=loaders.identities_by_account)

    @cached_property
    def miles_expiring_by_account(self) -> DataLoader[int, list[tuple[dt.date, int]]]:
        return DataLoader(load_fn=loaders.miles_expiring_by_account)


@dataclass
class EntityLoaders:
    """Made per request, on the first entity reference (ordinary requests never build them)."""

    member_by_account_number: DataLoader[str, Member | None] = field(
        default_factory=lambda: DataLoader(load_fn=entities.members_by_account_number)
    )
    card_by_number: DataLoader[str, ServiceCard | None] = field(
        default_factory=lambda: DataLoader(load_fn=entities.cards_by_number)
    )
