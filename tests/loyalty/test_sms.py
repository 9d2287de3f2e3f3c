"""The SMS second factor (DOMAIN.md 2): 6-digit codes through the outbox, 5 wrong codes block it for 30
minutes, one code per sign-in counts; and trusted devices."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import pytest

from gateway.settings import Settings
from loyalty.auth import devices, sms
from loyalty.auth.models import CompletedChallenge, SmsCode, SmsFactor, TrustedDevice
from loyalty.auth.sessions import revoke_all
from loyalty.auth.totp import ChallengeRefused, TwoFactorInvalid, TwoFactorLocked
from loyalty.errors import NotFound
from loyalty.members.sessions import Challenge
from loyalty.notifications.models import Channel, Notification, NotificationState
from loyalty.notifications.service import open_payload
from loyalty.rules import current_rules
from tests.factories import make_member

RULES = current_rules()
SMS_RULES = RULES.sms_two_factor
KEY = b"k" * 32
NOW = dt.datetime(2025, 6, 10, 7, 30, tzinfo=dt.UTC)
PHONE = "+49 151 2345 6789"


async def latest_code(account_id: int) -> str:
    """The code of the member's newest SMS, from its outbox row (sealed there until it is sent)."""
    row = await Notification.filter(account_id=account_id, template=sms.SMS_TEMPLATE).order_by("-id").first()
    assert row is not None and row.channel is Channel.SMS and row.state is NotificationState.PENDING
    token = str(open_payload(row)["token"])
    assert len(token) == SMS_RULES.code_digits and token.isdigit()
    return token


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**SMS_RULES.code_digits:0{SMS_RULES.code_digits}d}"


async def member_with_sms() -> int:
    enrolled = await make_member()
    account_id: int = enrolled.member.id
    sent = await sms.begin_enrolment(
        account_id=account_id, phone_number=PHONE, key=KEY, rules=SMS_RULES, now=NOW
    )
    assert sent.phone_number_hint == "+49•••••••••89"
    assert sent.expires_in == SMS_RULES.code_minutes * 60
    code = await latest_code(account_id)
    hint = await sms.confirm_enrolment(account_id=account_id, code=code, key=KEY, rules=SMS_RULES, now=NOW)
    assert hint == sent.phone_number_hint
    assert await sms.has_confirmed_sms(account_id=account_id)
    return account_id


def challenge(account_id: int, name: str = "c-1") -> Challenge:
    return Challenge(
        account_id, "SERVICE_CARD_NUMBER", "WEB", name, int((NOW + dt.timedelta(minutes=5)).timestamp())
    )


async def test_the_set_up_code_goes_to_the_number_through_the_outbox(db: Settings) -> None:
    account_id = await member_with_sms()
    row = await Notification.filter(account_id=account_id, template=sms.SMS_TEMPLATE).first()
    assert row is not None and row.recipient == "+4915123456789"
    assert "token" in row.payload and str(row.payload["token"]).startswith("sealed:")  # never in clear


async def test_a_sign_in_completes_once_with_its_code(db: Settings) -> None:
    account_id = await member_with_sms()
    pending = challenge(account_id)
    await sms.send_sign_in_code(challenge=pending, key=KEY, rules=SMS_RULES, now=NOW)
    code = await latest_code(account_id)
    await sms.complete_challenge(challenge=pending, code=code, key=KEY, rules=SMS_RULES, now=NOW)
    assert await CompletedChallenge.filter(challenge_id="c-1").count() == 1
    with pytest.raises(ChallengeRefused) as used:
        await sms.complete_challenge(challenge=pending, code=code, key=KEY, rules=SMS_RULES, now=NOW)
    assert used.value.code == "CHALLENGE_USED"


async def test_a_code_belongs_to_its_challenge_and_expires(db: Settings) -> None:
    account_id = await member_with_sms()
    first, second = challenge(account_id, "c-1"), challenge(account_id, "c-2")
    await sms.send_sign_in_code(challenge=first, key=KEY, rules=SMS_RULES, now=NOW)
    code = await latest_code(account_id)
    with pytest.raises(TwoFactorInvalid):
        await sms.complete_challenge(challenge=second, code=code, key=KEY, rules=SMS_RULES, now=NOW)
    late = NOW + dt.timedelta(minutes=SMS_RULES.code_minutes)
    with pytest.raises(TwoFactorInvalid):
        await sms.complete_challenge(challenge=first, code=code, key=KEY, rules=SMS_RULES, now=late)


async def test_a_new_code_replaces_the_last_and_a_sign_in_gets_three(db: Settings) -> None:
    account_id = await member_with_sms()
    pending = challenge(account_id)
    codes = []
    for _ in range(SMS_RULES.codes_per_challenge):
        await sms.send_sign_in_code(challenge=pending, key=KEY, rules=SMS_RULES, now=NOW)
        codes.append(await latest_code(account_id))
    with pytest.raises(sms.SmsCodeLimitReached):
        await sms.send_sign_in_code(challenge=pending, key=KEY, rules=SMS_RULES, now=NOW)
    if codes[0] != codes[-1]:
        with pytest.raises(TwoFactorInvalid):
            await sms.complete_challenge(challenge=pending, code=codes[0], key=KEY, rules=SMS_RULES, now=NOW)
    await sms.complete_challenge(challenge=pending, code=codes[-1], key=KEY, rules=SMS_RULES, now=NOW)


async def test_five_wrong_codes_block_the_factor_for_thirty_minutes(db: Settings) -> None:
    # given: DOMAIN.md 2 - a 6-digit code, too many wrong entries block for 30 minutes (5, as for the app)
    assert (SMS_RULES.code_digits, SMS_RULES.max_failed_attempts, SMS_RULES.lockout_minutes) == (6, 5, 30)
    account_id = await member_with_sms()
    pending = challenge(account_id)
    await sms.send_sign_in_code(challenge=pending, key=KEY, rules=SMS_RULES, now=NOW)
    code = await latest_code(account_id)

    # when: four wrong codes are refused, the fifth blocks
    for _ in range(SMS_RULES.max_failed_attempts - 1):
        with pytest.raises(TwoFactorInvalid):
            await sms.complete_challenge(
                challenge=pending, code=wrong(code), key=KEY, rules=SMS_RULES, now=NOW
            )
    with pytest.raises(TwoFactorLocked) as locked:
        await sms.complete_challenge(challenge=pending, code=wrong(code), key=KEY, rules=SMS_RULES, now=NOW)
    assert locked.value.unlocks_at == NOW + dt.timedelta(minutes=30)

    # then: while blocked even the right code is refused and no new SMS is sent
    almost = NOW + dt.timedelta(minutes=29, seconds=59)
    with pytest.raises(TwoFactorLocked):
        await sms.complete_challenge(challenge=pending, code=code, key=KEY, rules=SMS_RULES, now=almost)
    sent = await Notification.filter(account_id=account_id).count()
    with pytest.raises(TwoFactorLocked):
        await sms.send_sign_in_code(challenge=pending, key=KEY, rules=SMS_RULES, now=almost)
    assert await Notification.filter(account_id=account_id).count() == sent

    # and: after 30 minutes a fresh code works
    later = NOW + dt.timedelta(minutes=30)
    await sms.send_sign_in_code(challenge=pending, key=KEY, rules=SMS_RULES, now=later)
    await sms.complete_challenge(
        challenge=pending, code=await latest_code(account_id), key=KEY, rules=SMS_RULES, now=later
    )


async def test_the_number_is_checked_and_a_confirmed_factor_is_not_replaced(db: Settings) -> None:
    account_id = await member_with_sms()
    with pytest.raises(sms.PhoneNumberInvalid):
        sms.normalise_phone_number("0151 2345")
    assert sms.normalise_phone_number("0049 (151) 2345-6789") == "+4915123456789"
    with pytest.raises(sms.SmsTwoFactorAlreadyEnabled):
        await sms.begin_enrolment(
            account_id=account_id, phone_number=PHONE, key=KEY, rules=SMS_RULES, now=NOW
        )
    await sms.send_disable_code(account_id=account_id, key=KEY, rules=SMS_RULES, now=NOW)
    await sms.disable(
        account_id=account_id, code=await latest_code(account_id), key=KEY, rules=SMS_RULES, now=NOW
    )
    assert not await sms.has_confirmed_sms(account_id=account_id)
    assert await SmsCode.filter(account_id=account_id).count() == 0


# --- turning SMS codes off -------------------------------------------------------------------------------


async def test_turning_sms_off_takes_a_fresh_code_sent_to_the_confirmed_number(db: Settings) -> None:
    # given: a member with SMS codes on asks for a code to turn them off
    account_id = await member_with_sms()
    sent = await sms.send_disable_code(account_id=account_id, key=KEY, rules=SMS_RULES, now=NOW)
    assert sent == sms.SmsSent(phone_number_hint="+49•••••••••89", expires_in=SMS_RULES.code_minutes * 60)
    row = await Notification.filter(account_id=account_id, template=sms.SMS_TEMPLATE).order_by("-id").first()
    assert row is not None and row.recipient == "+4915123456789"
    code = await latest_code(account_id)

    # when: a wrong code is given
    with pytest.raises(TwoFactorInvalid):
        await sms.disable(account_id=account_id, code=wrong(code), key=KEY, rules=SMS_RULES, now=NOW)

    # then: SMS codes stay on and the wrong code counted
    factor = await SmsFactor.get(account_id=account_id)
    assert factor.confirmed_at is not None and factor.failed_attempts == 1

    # when: the right code is given
    await sms.disable(account_id=account_id, code=code, key=KEY, rules=SMS_RULES, now=NOW)

    # then: the factor and its codes are gone
    assert not await sms.has_confirmed_sms(account_id=account_id)
    assert await SmsFactor.filter(account_id=account_id).count() == 0
    assert await SmsCode.filter(account_id=account_id).count() == 0


async def test_a_sign_in_or_set_up_code_does_not_turn_sms_off(db: Settings) -> None:
    account_id = await member_with_sms()
    set_up_code = await latest_code(account_id)
    pending = challenge(account_id)
    await sms.send_sign_in_code(challenge=pending, key=KEY, rules=SMS_RULES, now=NOW)
    sign_in_code = await latest_code(account_id)

    for code in (sign_in_code, set_up_code):
        with pytest.raises(TwoFactorInvalid):
            await sms.disable(account_id=account_id, code=code, key=KEY, rules=SMS_RULES, now=NOW)

    assert await sms.has_confirmed_sms(account_id=account_id)
    # the sign-in's own code still completes its sign-in
    await sms.complete_challenge(challenge=pending, code=sign_in_code, key=KEY, rules=SMS_RULES, now=NOW)


async def test_a_disable_code_works_once_and_only_until_it_expires(db: Settings) -> None:
    account_id = await member_with_sms()
    await sms.send_disable_code(account_id=account_id, key=KEY, rules=SMS_RULES, now=NOW)
    code = await latest_code(account_id)
    late = NOW + dt.timedelta(minutes=SMS_RULES.code_minutes)

    with pytest.raises(TwoFactorInvalid):
        await sms.disable(account_id=account_id, code=code, key=KEY, rules=SMS_RULES, now=late)

    assert await sms.has_confirmed_sms(account_id=account_id)


async def test_three_unexpired_disable_codes_at_a_time_and_the_newest_counts(db: Settings) -> None:
    account_id = await member_with_sms()
    codes = []
    for _ in range(SMS_RULES.codes_per_challenge):
        await sms.send_disable_code(account_id=account_id, key=KEY, rules=SMS_RULES, now=NOW)
        codes.append(await latest_code(account_id))
    sent = await Notification.filter(account_id=account_id).count()

    with pytest.raises(sms.SmsCodeLimitReached):
        await sms.send_disable_code(account_id=account_id, key=KEY, rules=SMS_RULES, now=NOW)
    assert await Notification.filter(account_id=account_id).count() == sent
    if codes[0] != codes[-1]:
        with pytest.raises(TwoFactorInvalid):
            await sms.disable(account_id=account_id, code=codes[0], key=KEY, rules=SMS_RULES, now=NOW)

    # once they have expired, a new one may be sent, and it works
    later = NOW + dt.timedelta(minutes=SMS_RULES.code_minutes)
    await sms.send_disable_code(account_id=account_id, key=KEY, rules=SMS_RULES, now=later)
    await sms.disable(
        account_id=account_id, code=await latest_code(account_id), key=KEY, rules=SMS_RULES, now=later
    )
    assert not await sms.has_confirmed_sms(account_id=account_id)


async def test_wrong_disable_codes_block_the_factor_and_nothing_is_sent_meanwhile(db: Settings) -> None:
    account_id = await member_with_sms()
    await sms.send_disable_code(account_id=account_id, key=KEY, rules=SMS_RULES, now=NOW)
    code = await latest_code(account_id)
    for _ in range(SMS_RULES.max_failed_attempts - 1):
        with pytest.raises(TwoFactorInvalid):
            await sms.disable(account_id=account_id, code=wrong(code), key=KEY, rules=SMS_RULES, now=NOW)
    with pytest.raises(TwoFactorLocked):
        await sms.disable(account_id=account_id, code=wrong(code), key=KEY, rules=SMS_RULES, now=NOW)

    sent = await Notification.filter(account_id=account_id).count()
    with pytest.raises(TwoFactorLocked):
        await sms.disable(account_id=account_id, code=code, key=KEY, rules=SMS_RULES, now=NOW)
    with pytest.raises(TwoFactorLocked):
        await sms.send_disable_code(account_id=account_id, key=KEY, rules=SMS_RULES, now=NOW)
    assert await Notification.filter(account_id=account_id).count() == sent
    assert await sms.has_confirmed_sms(account_id=account_id)


async def test_without_sms_codes_on_there_is_nothing_to_turn_off(db: Settings) -> None:
    # a member who never set SMS up, and one whose set-up is not confirmed
    never = (await make_member()).member.id
    pending = (await make_member("pending@example.com")).member.id
    await sms.begin_enrolment(account_id=pending, phone_number=PHONE, key=KEY, rules=SMS_RULES, now=NOW)

    for account_id in (never, pending):
        with pytest.raises(sms.SmsTwoFactorNotEnabled):
            await sms.send_disable_code(account_id=account_id, key=KEY, rules=SMS_RULES, now=NOW)
        with pytest.raises(sms.SmsTwoFactorNotEnabled):
            await sms.disable(account_id=account_id, code="123456", key=KEY, rules=SMS_RULES, now=NOW)


# --- trusted devices -------------------------------------------------------------------------------------


async def test_a_trusted_device_is_trusted_for_the_configured_days_and_only_for_its_member(
    db: Settings,
) -> None:
    rules = RULES.trusted_devices
    account_id = (await make_member()).member.id
    other = (await make_member("other@example.com")).member.id
    issued = await devices.trust_device(account_id=account_id, name="Grace's phone", rules=rules, now=NOW)
    row = await TrustedDevice.get(id=issued.device.id)
    assert row.token_hash == devices.device_token_hash(issued.token) != issued.token
    assert row.expires_at == NOW + dt.timedelta(days=rules.valid_days)
    assert await devices.is_trusted(account_id=account_id, token=issued.token, now=NOW)
    assert not await devices.is_trusted(account_id=other, token=issued.token, now=NOW)
    assert not await devices.is_trusted(account_id=account_id, token="guess", now=NOW)
    last_moment = NOW + dt.timedelta(days=rules.valid_days) - dt.timedelta(seconds=1)
    assert await devices.is_trusted(account_id=account_id, token=issued.token, now=last_moment)
    assert not await devices.is_trusted(account_id=account_id, token=issued.token, now=row.expires_at)


async def test_members_revoke_one_device_and_ending_all_sessions_revokes_all(db: Settings) -> None:
    rules = RULES.trusted_devices
    account_id = (await make_member()).member.id
    phone = await devices.trust_device(account_id=account_id, name="phone", rules=rules, now=NOW)
    laptop = await devices.trust_device(account_id=account_id, name="laptop", rules=rules, now=NOW)
    assert [d.name for d in await devices.trusted_devices(account_id=account_id, now=NOW)] == [
        "laptop",
        "phone",
    ]
    await devices.revoke_device(account_id=account_id, device_id=str(phone.device.id), now=NOW)
    assert not await devices.is_trusted(account_id=account_id, token=phone.token, now=NOW)
    with pytest.raises(NotFound):
        await devices.revoke_device(account_id=account_id + 1, device_id=str(laptop.device.id), now=NOW)
    await revoke_all(account_id=account_id, now=NOW)
    assert not await devices.is_trusted(account_id=account_id, token=laptop.token, now=NOW)
    assert await devices.trusted_devices(account_id=account_id, now=NOW) == []


async def test_a_member_keeps_at_most_the_configured_number_of_devices(db: Settings) -> None:
    rules = replace(RULES.trusted_devices, max_per_member=2)
    account_id = (await make_member()).member.id
    issued = [
        await devices.trust_device(
            account_id=account_id, name=f"d{index}", rules=rules, now=NOW + dt.timedelta(seconds=index)
        )
        for index in range(3)
    ]
    later = NOW + dt.timedelta(minutes=1)
    assert [d.name for d in await devices.trusted_devices(account_id=account_id, now=later)] == ["d2", "d1"]
    assert not await devices.is_trusted(account_id=account_id, token=issued[0].token, now=later)


async def test_parallel_wrong_codes_are_counted_exactly(pg_db: Settings) -> None:
    # given: on PostgreSQL, a sign-in with its SMS code sent
    account_id = await member_with_sms()
    pending = challenge(account_id)
    await sms.send_sign_in_code(challenge=pending, key=KEY, rules=SMS_RULES, now=NOW)
    code = await latest_code(account_id)

    # when: eight wrong codes arrive at once
    results = await asyncio.gather(
        *(
            sms.complete_challenge(challenge=pending, code=wrong(code), key=KEY, rules=SMS_RULES, now=NOW)
            for _ in range(8)
        ),
        return_exceptions=True,
    )

    # then: four are counted as wrong, the fifth blocks, the rest meet the block
    kinds = sorted(type(result).__name__ for result in results)
    assert kinds == ["TwoFactorInvalid"] * 4 + ["TwoFactorLocked"] * 4


@pytest.mark.postgres
async def test_one_disable_code_used_at_once_turns_sms_off_once(pg_db: Settings) -> None:
    # given: on PostgreSQL, a member's code for turning SMS codes off
    account_id = await member_with_sms()
    await sms.send_disable_code(account_id=account_id, key=KEY, rules=SMS_RULES, now=NOW)
    code = await latest_code(account_id)

    # when: it is sent five times at once
    results = await asyncio.gather(
        *(sms.disable(account_id=account_id, code=code, key=KEY, rules=SMS_RULES, now=NOW) for _ in range(5)),
        return_exceptions=True,
    )

    # then: one turned SMS codes off; the others found them off already
    kinds = sorted(type(result).__name__ for result in results)
    assert kinds == ["NoneType"] + ["SmsTwoFactorNotEnabled"] * 4
    assert await SmsFactor.filter(account_id=account_id).count() == 0
