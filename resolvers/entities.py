"""Federation entity references: a router's representations, resolved in batches, for their owner only.

A Federation 2 router asks ``_entities(representations: [...])`` for the members and service cards other
subgraphs point at. Each representation is looked up through a DataLoader, so one ``_entities`` call runs
one query per entity type, however many representations it carries. The router forwards the member's
bearer token; a representation of anyone else's member or card is refused (FORBIDDEN), the same way
whether it exists or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from loyalty.members import models
from schema.context import Info
from schema.errors import NotAuthenticated, NotYours
from schema.members import Member, ServiceCard


async def _members_by_account_number(keys: Sequence[str]) -> list[models.Member | None]:
    found = {row.account_number: row for row in await models.Member.filter(account_number__in=list(keys))}
    return [found.get(key) for key in keys]


async def _cards_by_number(keys: Sequence[str]) -> list[models.ServiceCard | None]:
    found = {row.number: row for row in await models.ServiceCard.filter(number__in=list(keys))}
    return [found.get(key) for key in keys]


@dataclass
class EntityLoaders:
    """Made per request, on the first entity reference (ordinary requests never build them)."""

    member_by_account_number: DataLoader[str, models.Member | None] = field(
        default_factory=lambda: DataLoader(load_fn=_members_by_account_number)
    )
    card_by_number: DataLoader[str, models.ServiceCard | None] = field(
        default_factory=lambda: DataLoader(load_fn=_cards_by_number)
    )


def _signed_in_account(info: Info) -> int:
    principal = info.context.principal
    if principal is None:
        raise NotAuthenticated()
    return principal.account_id


def _key(representation: dict[str, object], name: str) -> str:
    value = representation.get(name)
    if not isinstance(value, str):
        raise NotYours()
    return value


async def member_reference(info: Info, representation: dict[str, object]) -> Member:
    """The member a representation's accountNumber names, when it is the signed-in member."""
    account_id = _signed_in_account(info)
    number = _key(representation, "accountNumber")
    row = await info.context.entity_loaders.member_by_account_number.load(number)
    if row is None or row.id != account_id:
        raise NotYours()
    return Member.from_model(row)


async def card_reference(info: Info, representation: dict[str, object]) -> ServiceCard:
    """The service card a representation's number names (any state), when it is the signed-in member's."""
    account_id = _signed_in_account(info)
    number = _key(representation, "number")
    card = await info.context.entity_loaders.card_by_number.load(number)
    if card is None or card.account_id != account_id:
        raise NotYours()
    holder = await info.context.loaders.member_by_id.load(account_id)
    holder_name = f"{holder.given_name} {holder.family_name}" if holder else None
    return ServiceCard.from_model(card, holder_name=holder_name)
