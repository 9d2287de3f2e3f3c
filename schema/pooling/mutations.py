"""Mileage pooling: invite, accept, decline, leave, remove, and redeem with pooled miles; each needs an
AUTHENTICATED session."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import pooling
from schema.context import Info
from schema.fields import mutation
from schema.inputs import from_arguments, old_argument
from schema.permissions import StepUp, signed_in
from schema.pooling.types import (
    AcceptPoolInvitationResult,
    DeclinePoolInvitationResult,
    InviteToPoolResult,
    LeavePoolResult,
    Pool,
    PoolInvitationDeclined,
    PoolLeft,
    PoolShare,
    PoolUpdated,
    RedeemedFromPool,
    RedeemFromPoolResult,
    RemoveFromPoolResult,
)
from schema.rewards.arguments import RedeemInput, RequestIdArgument, RewardCodeArgument
from schema.rewards.types import Redemption

INVITATION = "The invitation (me.poolInvitations)."
InvitationId = Annotated[strawberry.ID | None, old_argument(INVITATION, field="id")]
SERVICE_CARD_NUMBER = "The invitee's 15-digit service card number."


@strawberry.input(description="The member to invite to your pool.")
class InviteToPoolInput:
    service_card_number: str = strawberry.field(description=SERVICE_CARD_NUMBER)


@strawberry.input(description="An invitation to a mileage pool.")
class PoolInvitationInput:
    id: strawberry.ID = strawberry.field(description=INVITATION)


@strawberry.input(description="A member of your pool, or an open invitation of it.")
class RemoveFromPoolInput:
    id: strawberry.ID = strawberry.field(description="The membership (me.pool.members).")


def _updated(change: pooling.PoolUpdated) -> PoolUpdated:
    return PoolUpdated(
        pool=None if change.pool is None else Pool.from_view(change.pool), dissolved=change.dissolved
    )


@strawberry.type
class PoolingMutations:
    @mutation(
        description="Invite a member to your mileage pool by service card number (needs AUTHENTICATED). An adult "
        "without a pool founds one. A pool holds 2 adults and 5 children (open invitations hold a place); "
        "members live in an eligible country and are in one pool at a time.",
        permission_classes=[StepUp],
    )
    async def invite_to_pool(
        self,
        info: Info,
        input: InviteToPoolInput | None = None,
        service_card_number: Annotated[
            str | None, old_argument(SERVICE_CARD_NUMBER, field="serviceCardNumber")
        ] = None,
    ) -> InviteToPoolResult:
        given = from_arguments(InviteToPoolInput, input, service_card_number=service_card_number)
        change = await pooling.invite(
            account_id=signed_in(info.context).account_id,
            service_card_number=given.service_card_number,
            rules=info.context.rules,
        )
        return _updated(change)

    @mutation(
        description="Accept an invitation to a mileage pool (needs AUTHENTICATED). Your miles combine with the "
        "pool 2 days later; other open invitations are declined.",
        permission_classes=[StepUp],
    )
    async def accept_pool_invitation(
        self, info: Info, input: PoolInvitationInput | None = None, id: InvitationId = None
    ) -> AcceptPoolInvitationResult:
        given = from_arguments(PoolInvitationInput, input, id=id)
        change = await pooling.accept(
            account_id=signed_in(info.context).account_id,
            invitation_id=str(given.id),
            rules=info.context.rules,
        )
        return _updated(change)

    @mutation(
        description="Decline an invitation to a mileage pool (needs AUTHENTICATED).",
        permission_classes=[StepUp],
    )
    async def decline_pool_invitation(
        self, info: Info, input: PoolInvitationInput | None = None, id: InvitationId = None
    ) -> DeclinePoolInvitationResult:
        given = from_arguments(PoolInvitationInput, input, id=id)
        await pooling.decline(
            account_id=signed_in(info.context).account_id,
            invitation_id=str(given.id),
            rules=info.context.rules,
        )
        return PoolInvitationDeclined(invitation_id=strawberry.ID(str(given.id)))

    @mutation(
        description="Leave your mileage pool (needs AUTHENTICATED): possible at any time, and no pool can be "
        "joined or founded for 6 months after. A pool left with no adult or one member dissolves.",
        permission_classes=[StepUp],
    )
    async def leave_pool(self, info: Info) -> LeavePoolResult:
        left = await pooling.leave(account_id=signed_in(info.context).account_id, rules=info.context.rules)
        assert left.membership.blocked_until is not None  # leaving always sets the block
        return PoolLeft(blocked_until=left.membership.blocked_until, dissolved=left.dissolved)

    @mutation(
        description="The founder removes a member (blocked from pools for 6 months, like leaving) or withdraws "
        "an open invitation (needs AUTHENTICATED).",
        permission_classes=[StepUp],
    )
    async def remove_from_pool(
        self,
        info: Info,
        input: RemoveFromPoolInput | None = None,
        id: Annotated[
            strawberry.ID | None, old_argument("The membership (me.pool.members).", field="id")
        ] = None,
    ) -> RemoveFromPoolResult:
        given = from_arguments(RemoveFromPoolInput, input, id=id)
        change = await pooling.remove(
            account_id=signed_in(info.context).account_id,
            membership_id=str(given.id),
            rules=info.context.rules,
        )
        return _updated(change)

    @mutation(
        description="Redeem a catalogue reward with pooled miles (adults of a working pool; needs AUTHENTICATED). "
        "Miles expiring first are used first, protected miles only when the others are not enough. Atomic and "
        "idempotent per requestId; cancelRedemption gives each member's miles back.",
        permission_classes=[StepUp],
    )
    async def redeem_from_pool(
        self,
        info: Info,
        input: RedeemInput | None = None,
        reward_code: RewardCodeArgument = None,
        request_id: RequestIdArgument = None,
    ) -> RedeemFromPoolResult:
        given = from_arguments(RedeemInput, input, reward_code=reward_code, request_id=request_id)
        redeemed = await pooling.redeem(
            account_id=signed_in(info.context).account_id,
            reward_code=given.reward_code,
            request_id=given.request_id,
            rules=info.context.rules,
        )
        return RedeemedFromPool(
            redemption=Redemption.from_model(redeemed.redemption, redeemed.reward),
            shares=[PoolShare(given_name=share.given_name, miles=share.miles) for share in redeemed.shares],
            pool_miles=redeemed.pool_miles,
        )
