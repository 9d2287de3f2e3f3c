"""Mileage pooling (DOMAIN.md 7): the member's pool, invitations, and pooled redemption."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from loyalty.pooling.models import MembershipState
from loyalty.pooling.views import InvitationView, PoolMemberView, PoolView
from schema.errors import InputError, StepUpRequired
from schema.pooling.enums import PoolRole
from schema.rewards.types import InsufficientMiles, Redemption


@strawberry.type(description="A member of a mileage pool, or someone invited to it.")
class PoolMember:
    id: strawberry.ID = strawberry.field(description="The membership's id: pass it to removeFromPool.")
    given_name: str = strawberry.field(description="The member's given name.")
    family_name: str = strawberry.field(description="The member's family name.")
    role: PoolRole = strawberry.field(description="ADULT or CHILD, by age on the day they joined.")
    state: MembershipState = strawberry.field(
        description="INVITED (an open invitation, not expired), ACCEPTED or COMBINED."
    )
    founder: bool = strawberry.field(description="The founder invites and removes members.")
    invited_at: dt.datetime = strawberry.field(description="When the invitation was sent.")
    accepted_at: dt.datetime | None = strawberry.field(description="When the invitation was accepted.")
    combines_on: dt.date | None = strawberry.field(
        description="The day the member's miles join the pool balance (2 days after acceptance)."
    )
    combined: bool = strawberry.field(description="Whether the member's miles count in the pool balance now.")
    award_miles: int | None = strawberry.field(
        description="The member's own award miles; none while the invitation is open."
    )

    @classmethod
    def from_view(cls, view: PoolMemberView) -> PoolMember:
        row = view.membership
        return cls(
            id=strawberry.ID(str(row.id)),
            given_name=view.given_name,
            family_name=view.family_name,
            role=row.role,
            state=row.state,
            founder=view.founder,
            invited_at=row.invited_at,
            accepted_at=row.responded_at if row.state is not MembershipState.INVITED else None,
            combines_on=row.combines_on,
            combined=view.combined,
            award_miles=view.award_miles,
        )


@strawberry.type(
    description="The member's mileage pool: a virtual balance of the combined members' award miles (their "
    "miles stay in their own accounts). Points are never pooled."
)
class Pool:
    id: strawberry.ID = strawberry.field(description="The pool's id.")
    created_at: dt.datetime = strawberry.field(description="When the founder sent the first invitation.")
    members: list[PoolMember] = strawberry.field(
        description="Members and open invitations, in the order they were invited."
    )
    working: bool = strawberry.field(
        description="At least 2 combined members, one of them an adult: pooled miles can be redeemed."
    )
    award_miles: int = strawberry.field(description="The pool balance: award miles of every combined member.")
    viewer_role: PoolRole = strawberry.field(description="The signed-in member's role in the pool.")
    viewer_may_redeem: bool = strawberry.field(
        description="Whether the signed-in member may redeem pooled miles (adults whose miles have combined)."
    )
    redeemable_miles: int = strawberry.field(
        description="What the signed-in member may spend: the pool balance, or their own miles if they may "
        "not redeem pooled ones."
    )

    @classmethod
    def from_view(cls, view: PoolView) -> Pool:
        return cls(
            id=strawberry.ID(str(view.pool.id)),
            created_at=view.pool.created_at,
            members=[PoolMember.from_view(member) for member in view.members],
            working=view.working,
            award_miles=view.award_miles,
            viewer_role=view.viewer.membership.role,
            viewer_may_redeem=view.viewer_may_redeem,
            redeemable_miles=view.redeemable_miles,
        )


@strawberry.type(description="An open invitation to someone else's mileage pool.")
class PoolInvitation:
    id: strawberry.ID = strawberry.field(
        description="Pass it to acceptPoolInvitation or declinePoolInvitation."
    )
    invited_by: str = strawberry.field(description="The founder's name.")
    role: PoolRole = strawberry.field(description="The place offered, by age on the invitation day.")
    invited_at: dt.datetime = strawberry.field(description="When the invitation was sent.")
    members: int = strawberry.field(description="How many members the pool has now.")
    expires_at: dt.datetime = strawberry.field(
        description="When the invitation expires unanswered (14 days after it was sent): accepting it after "
        "that is refused with INVITATION_EXPIRED."
    )

    @classmethod
    def from_view(cls, view: InvitationView) -> PoolInvitation:
        row = view.membership
        return cls(
            id=strawberry.ID(str(row.id)),
            invited_by=view.invited_by_name,
            role=row.role,
            invited_at=row.invited_at,
            members=view.members,
            expires_at=view.expires_at,
        )


@strawberry.type(description="The pool changed (an invitation sent or accepted, a member removed).")
class PoolUpdated:
    pool: Pool | None = strawberry.field(
        description="The pool as the signed-in member sees it now; none when it dissolved."
    )
    dissolved: bool = strawberry.field(
        description="The pool fell below 2 members or has no adult left, and ended; nobody is blocked by that."
    )


@strawberry.type(description="The invitation was declined.")
class PoolInvitationDeclined:
    invitation_id: strawberry.ID = strawberry.field(description="The declined invitation.")


@strawberry.type(description="The member left the pool.")
class PoolLeft:
    blocked_until: dt.date = strawberry.field(description="No pool can be joined or founded before this day.")
    dissolved: bool = strawberry.field(description="Whether the pool ended because of it.")


@strawberry.type(description="One member's part of a pooled redemption.")
class PoolShare:
    given_name: str = strawberry.field(description="The contributing member's given name.")
    miles: int = strawberry.field(description="Award miles taken from that member's own lots.")


@strawberry.type(
    description="A reward was redeemed with pooled miles (or, for a repeated requestId, had been)."
)
class RedeemedFromPool:
    redemption: Redemption = strawberry.field(
        description="The redemption (the signed-in member's; cancelRedemption gives every member's miles back)."
    )
    shares: list[PoolShare] = strawberry.field(description="How many miles each member contributed.")
    pool_miles: int = strawberry.field(description="The pool balance afterwards.")


InviteToPoolResult = Annotated[
    PoolUpdated | StepUpRequired | InputError, strawberry.union("InviteToPoolResult")
]
AcceptPoolInvitationResult = Annotated[
    PoolUpdated | StepUpRequired | InputError, strawberry.union("AcceptPoolInvitationResult")
]
DeclinePoolInvitationResult = Annotated[
    PoolInvitationDeclined | StepUpRequired | InputError, strawberry.union("DeclinePoolInvitationResult")
]
LeavePoolResult = Annotated[PoolLeft | StepUpRequired | InputError, strawberry.union("LeavePoolResult")]
RemoveFromPoolResult = Annotated[
    PoolUpdated | StepUpRequired | InputError, strawberry.union("RemoveFromPoolResult")
]
RedeemFromPoolResult = Annotated[
    RedeemedFromPool | InsufficientMiles | StepUpRequired | InputError,
    strawberry.union("RedeemFromPoolResult"),
]
