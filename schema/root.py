"""The member schema: every member-facing domain's queries, mutations and subscriptions joined into one
Federation 2 subgraph, served at ``/graphql``. Each domain room (``schema/<domain>/``) holds its own parts;
this module only joins them. Operator fields live in their own schema (``schema/admin/root.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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
from schema.joining import joined
from schema.ledger.subscriptions import LedgerSubscriptions
from schema.members.mutations import MemberMutations
from schema.members.queries import MemberQueries
from schema.miles_to_status.mutations import MilesToStatusMutations
from schema.offers.mutations import OfferMutations
from schema.pooling.mutations import PoolingMutations
from schema.privacy.mutations import PrivacyMutations
from schema.privacy.queries import PrivacyQueries
from schema.retro_credit.mutations import RetroCreditMutations
from schema.retro_credit.queries import RetroCreditQueries
from schema.rewards.mutations import RewardMutations
from schema.rewards.queries import RewardQueries
from schema.status.subscriptions import StatusSubscriptions

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
        FederationQueries,
    ],
)
Mutation = joined(
    "Mutation",
    "Change the programme's data. Expected failures come back as typed results.",
    [
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
