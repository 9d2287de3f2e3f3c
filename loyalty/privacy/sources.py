"""Where a member's personal data lives, one source per area, each able to export and to erase it.

The loyalty core provides the sources of its own tables; other packages (the partner inbox in
``webhooks/``) provide theirs, and the gateway hands the full list to export and erasure, so this
package never imports them. Erasure keeps the ledger balanced and auditable: entries keep their
amounts and lose the person (the member row is pseudonymised, not deleted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from tortoise.models import Model

from loyalty.auth.models import (
    LinkedIdentity,
    RecoveryCode,
    RefreshToken,
    ResetToken,
    SignInRecord,
    SmsCode,
    SmsFactor,
    TotpFactor,
    TrustedDevice,
)
from loyalty.consents.models import ConsentRecord
from loyalty.flown.models import FlownSegment
from loyalty.ledger.models import CreditCard, Entry, Posting
from loyalty.lounges.models import LoungeCheck
from loyalty.members.models import AddressVerification, CardOrder, CardState, Member, ServiceCard, SupportCase
from loyalty.miles_to_status.models import CardMilesCredit, StatusExchange
from loyalty.notifications.models import Notification
from loyalty.photo_credit.models import ReceiptUpload, ReceiptVerdict
from loyalty.pooling.models import PoolMembership
from loyalty.retro_credit.models import RetroCreditRequest
from loyalty.rewards.models import Redemption, RewardGoal
from loyalty.status.models import EVoucher, StatusHistory
from loyalty.status_stars.models import StatusStarImport

ERASED = "erased"
ERASED_BIRTH_DATE = dt.date(1900, 1, 1)
NO_SIGN_IN = "!erased"  # never a valid argon2 hash: nothing signs in with it


class PersonalDataSource(Protocol):
    """One area of personal data: ``export`` gives JSON-ready data, ``erase`` removes or pseudonymises it."""

    name: str

    async def export(self, account_id: int) -> Any: ...

    async def erase(self, account_id: int, *, now: dt.datetime) -> int: ...


def plain(value: Any) -> Any:
    """A JSON-ready copy: dates as ISO strings, enums as their values."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if hasattr(value, "value") and isinstance(value.value, str | int):
        return value.value
    return value


def rows(models: Sequence[Model], *, leave_out: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Model rows as dictionaries of their database fields (secrets left out by name)."""
    return [
        {
            name: plain(getattr(model, name))
            for name in model._meta.db_fields
            if name not in leave_out and not name.endswith("_hash")
        }
        for model in models
    ]


class ProfileSource:
    name = "profile"

    async def export(self, account_id: int) -> Any:
        member = await Member.get(id=account_id)
        return rows([member], leave_out=frozenset({"pin_hash", "password_hash"}))[0]

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        return await Member.filter(id=account_id).update(
            given_name=ERASED,
            family_name=ERASED,
            email=None,
            email_verified_at=None,
            user_id=None,
            date_of_birth=ERASED_BIRTH_DATE,
            pin_hash=NO_SIGN_IN,
            password_hash=None,
            advertising_consent=False,
            erased_at=now,
        )


class CardsSource:
    name = "cards"

    async def export(self, account_id: int) -> Any:
        return {
            "serviceCards": rows(await ServiceCard.filter(account_id=account_id).order_by("id")),
            "cardOrders": rows(await CardOrder.filter(account_id=account_id).order_by("id")),
            "creditCards": rows(await CreditCard.filter(account_id=account_id).order_by("id")),
        }

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        """Cards are blocked (their numbers stay, so old partner references still resolve to nobody)."""
        return (
            await ServiceCard.filter(account_id=account_id)
            .exclude(state=CardState.BLOCKED)
            .update(state=CardState.BLOCKED, state_changed_at=now)
        )


class LedgerSource:
    name = "ledger"

    async def export(self, account_id: int) -> Any:
        postings = await Posting.filter(account_id=account_id).order_by("id")
        entries = await Entry.filter(account_id=account_id).order_by("id")
        return {"postings": rows(postings), "entries": rows(entries)}

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        """The ledger keeps every amount; descriptions never hold personal data, so nothing changes."""
        return 0


class AccountSecuritySource:
    name = "signInAndSecurity"

    async def export(self, account_id: int) -> Any:
        return {
            "linkedIdentities": rows(await LinkedIdentity.filter(account_id=account_id).order_by("id")),
            "twoFactor": rows(
                await TotpFactor.filter(account_id=account_id), leave_out=frozenset({"secret"})
            ),
            "sessions": rows(
                await RefreshToken.filter(account_id=account_id).order_by("id"),
                leave_out=frozenset({"token_hash"}),
            ),
            "signIns": rows(await SignInRecord.filter(account_id=account_id).order_by("id")),
            "smsTwoFactor": rows(await SmsFactor.filter(account_id=account_id)),
            "addressVerifications": rows(
                await AddressVerification.filter(account_id=account_id).order_by("id")
            ),
            "trustedDevices": rows(
                await TrustedDevice.filter(account_id=account_id).order_by("id"),
                leave_out=frozenset({"token_hash"}),
            ),
        }

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        removed = 0
        models: tuple[type[Model], ...] = (
            LinkedIdentity,
            RecoveryCode,
            TotpFactor,
            SmsCode,
            SmsFactor,
            TrustedDevice,
            ResetToken,
            RefreshToken,
            SignInRecord,
            AddressVerification,
        )
        for model in models:
            removed += await model.filter(account_id=account_id).delete()
        return removed


class ConsentSource:
    name = "consents"

    async def export(self, account_id: int) -> Any:
        return rows(await ConsentRecord.filter(account_id=account_id).order_by("id"))

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        return await ConsentRecord.filter(account_id=account_id).delete()


class MessagesSource:
    name = "notifications"

    async def export(self, account_id: int) -> Any:
        return rows(await Notification.filter(account_id=account_id).order_by("id"))

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        return await Notification.filter(account_id=account_id).delete()


class ProgrammeSource:
    name = "programme"

    async def export(self, account_id: int) -> Any:
        return {
            "statusHistory": rows(await StatusHistory.filter(account_id=account_id).order_by("id")),
            "eVouchers": rows(await EVoucher.filter(account_id=account_id).order_by("id")),
            "redemptions": rows(await Redemption.filter(account_id=account_id).order_by("id")),
            "rewardGoal": rows(await RewardGoal.filter(account_id=account_id)),
            "poolMemberships": rows(await PoolMembership.filter(account_id=account_id).order_by("id")),
            "cardMilesCredits": rows(await CardMilesCredit.filter(account_id=account_id).order_by("id")),
            "statusExchanges": rows(await StatusExchange.filter(account_id=account_id).order_by("id")),
            "statusStars": rows(await StatusStarImport.filter(account_id=account_id)),
        }

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        """The reward goal goes (status history, vouchers and redemptions stay: the ledger refers to them).
        The member's pool places and open invitations were released before any source ran
        (``erase_personal_data``, for the lock order of ``loyalty.pooling.state``)."""
        return await RewardGoal.filter(account_id=account_id).delete()


class SupportSource:
    name = "supportCases"

    async def export(self, account_id: int) -> Any:
        return rows(await SupportCase.filter(account_id=account_id).order_by("id"))

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        return await SupportCase.filter(account_id=account_id).update(
            contact_email=ERASED, details={}, resolution=None
        )


class PartnerRecordsSource:
    name = "partnerRecords"

    async def export(self, account_id: int) -> Any:
        return {
            "flownSegments": rows(await FlownSegment.filter(account_id=account_id).order_by("id")),
            "receiptVerdicts": rows(await ReceiptVerdict.filter(account_id=account_id).order_by("id")),
            "receiptUploads": rows(
                await ReceiptUpload.filter(account_id=account_id).order_by("id"),
                leave_out=frozenset({"image"}),
            ),
        }

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        """Flown coupons keep flight and ticket for the partner's accounting, lose the passenger's name;
        receipt pictures are deleted (the upload's state, size and checksum stay)."""
        flown = await FlownSegment.filter(account_id=account_id).update(
            passenger_surname=ERASED, passenger_given_name=ERASED, member_reference=ERASED, details={}
        )
        return flown + await ReceiptUpload.filter(account_id=account_id).update(image=b"")


class RetroCreditSource:
    name = "retroCreditRequests"

    async def export(self, account_id: int) -> Any:
        return rows(await RetroCreditRequest.filter(account_id=account_id).order_by("id"))

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        """Requests keep flight, ticket and outcome (the ledger refers to them), lose the name on the pass."""
        return await RetroCreditRequest.filter(account_id=account_id).update(
            passenger_surname=ERASED, passenger_given_name=ERASED, boarding_pass=None
        )


class LoungeVisitsSource:
    name = "loungeVisits"

    async def export(self, account_id: int) -> Any:
        return rows(await LoungeCheck.filter(account_id=account_id).order_by("id"))

    async def erase(self, account_id: int, *, now: dt.datetime) -> int:
        """The partners' check log keeps the decision, without the person: no account, no card number."""
        return await LoungeCheck.filter(account_id=account_id).update(account_id=None, service_card_number="")


def core_sources() -> list[PersonalDataSource]:
    """The sources of the loyalty core's own tables."""
    return [
        ProfileSource(),
        CardsSource(),
        LedgerSource(),
        AccountSecuritySource(),
        ConsentSource(),
        MessagesSource(),
        ProgrammeSource(),
        SupportSource(),
        PartnerRecordsSource(),
        RetroCreditSource(),
        LoungeVisitsSource(),
    ]
