"""Federation entity references: a router's representations, resolved in batches, for their owner only.

A Federation 2 router asks ``_entities(representations: [...])`` for the members and service cards other
subgraphs point at. The schema looks each representation up through a DataLoader over the batch functions
here, so one ``_entities`` call runs one query per entity type, however many representations it carries.
The router forwards the member's bearer token; a representation of anyone else's member or card is
refused (``NotYours``), the same way whether it exists or not.
"""

from __future__ import annotations

from collections.abc import Sequence

from loyalty.errors import DomainError
from loyalty.members import models


class NotYours(DomainError):
    """A reference to data that is not the signed-in member's (or to nothing): the same either way."""

    code = "FORBIDDEN"


async def members_by_account_number(keys: Sequence[str]) -> list[models.Member | None]:
    found = {row.account_number: row for row in await models.Member.filter(account_number__in=list(keys))}
    return [found.get(key) for key in keys]


async def cards_by_number(keys: Sequence[str]) -> list[models.ServiceCard | None]:
    found = {row.number: row for row in await models.ServiceCard.filter(number__in=list(keys))}
    return [found.get(key) for key in keys]


def reference_key(representation: dict[str, object], name: str) -> str:
    value = representation.get(name)
    if not isinstance(value, str):
        raise NotYours("Only the signed-in member's own data can be read.")
    return value


def own_member(row: models.Member | None, *, account_id: int) -> models.Member:
    """The member a representation's accountNumber names, when it is the signed-in member."""
    if row is None or row.id != account_id:
        raise NotYours("Only the signed-in member's own data can be read.")
    return row


def own_card(card: models.ServiceCard | None, *, account_id: int) -> models.ServiceCard:
    """The service card a representation's number names (any state), when it is the signed-in member's."""
    if card is None or card.account_id != account_id:
        raise NotYours("Only the signed-in member's own data can be read.")
    return card
