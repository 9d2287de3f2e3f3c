"""The root schema: every domain's queries, mutations and subscriptions joined into one Federation 2
subgraph. Each domain room (``schema/<domain>/``) holds its own parts; this module only joins them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from graphql import Executor
from strawberry.extensions import SchemaExtension
from strawberry.federation import Schema
from strawberry.schema.config import StrawberryConfig

from schema.auth.mutations import ResetMutations, SignInMutations, TwoFactorMutations
from schema.auth.second_factor_mutations import SecondFactorMutations
from schema.awards.mutations import AwardMutations
from schema.boarding_passes.queries import BoardingPassQueries
from schema.cards.mutations import CardMutations
from schema.consents.mutations import ConsentMutations
from schema.earning.queries import EarningQueries
from schema.engagement.mutations import EngagementMutations
from schema.federation import FederationQueries
from schema.hub.mutations import HubMutations
from schema.hub.queries import HubQueries
from schema.ledger.subscriptions import LedgerSubscriptions
from schema.members.mutations import MemberMutations
from schema.members.queries import MemberQueries
from schema.miles_to_status.mutations import MilesToStatusMutations
from schema.offers.mutations import OfferMutations
from schema.partners.mutations import PartnerMutations
from schema.partners.queries import PartnerQueries
from schema.pooling.mutations import PoolingMutations
from schema.privacy.mutations import PrivacyMutations
from schema.privacy.queries import PrivacyQueries
from schema.retro_credit.mutations import RetroCreditMutations
from schema.retro_credit.queries import RetroCreditQueries
from schema.rewards.mutations import RewardMutations
from schema.rewards.queries import RewardQueries
from schema.status.subscriptions import StatusSubscriptions


def joined(name: str, description: str, parts: Sequence[type]) -> Any:
    """One root type with every part's fields (each part a ``strawberry.type``); a field name two parts
    share is a mistake, refused here rather than one silently winning."""
    seen: dict[str, str] = {}
    for part in parts:
        for field in part.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            if field.name in seen:
                raise TypeError(f"{name}.{field.name} is defined by {seen[field.name]} and {part.__name__}")
            seen[field.name] = part.__name__
    return strawberry.type(type(name, tuple(parts), {}), description=description)


Query = joined(
    "Query",
    "Read the programme: the signed-in member, their card and balances.",
    [
        MemberQueries,
        RewardQueries,
        PrivacyQueries,
        EarningQueries,
        BoardingPassQueries,
        RetroCreditQueries,
        PartnerQueries,
        HubQueries,
        FederationQueries,
    ],
)
Mutation = joined(
    "Mutation",
    "Change the programme's data. Expected failures come back as typed results.",
    [
        HubMutations,
        MemberMutations,
        SignInMutations,
        TwoFactorMutations,
        SecondFactorMutations,
        ResetMutations,
        CardMutations,
        RewardMutations,
        MilesToStatusMutations,
        ConsentMutations,
        PrivacyMutations,
        EngagementMutations,
        OfferMutations,
        PoolingMutations,
        RetroCreditMutations,
        AwardMutations,
        PartnerMutations,
    ],
)
Subscription = joined(
    "Subscription",
    "Live updates over WebSocket (graphql-transport-ws); sign in at connection time.",
    [LedgerSubscriptions, StatusSubscriptions],
)


def build_schema(
    extensions: Sequence[type[SchemaExtension] | Callable[[], SchemaExtension]] = (),
    config: StrawberryConfig | None = None,
    *,
    execution_context_class: type[Executor[Any]] | None = None,
) -> Schema:
    """The schema; the gateway passes its engine's executor (``gateway/graphql/engine``), or None for
    graphql-core's own."""
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=list(extensions),
        config=config,
        execution_context_class=execution_context_class,
    )
