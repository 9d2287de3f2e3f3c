"""App 2FA (DOMAIN.md §2): enrolment, the ±1 step window, replay, recovery codes, lockout, disabling.

Codes come from ``oathtool`` (OATH Toolkit), an implementation independent of pyotp; without it the
tests skip, and fail in CI. Time is passed in, so every case is worked at a fixed instant.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import re
import shutil
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from cryptography.fernet import Fernet
from tortoise import connections

from gateway.settings import Settings
from loyalty.auth.models import RecoveryCode, TotpFactor
from loyalty.auth.totp import (
    TwoFactorAlreadyEnabled,
    TwoFactorCodeReused,
    TwoFactorInvalid,
    TwoFactorLocked,
    TwoFactorNotEnabled,
    TwoFactorNotStarted,
    begin_enrolment,
    confirm_enrolment,
    disable,
    has_confirmed_factor,
    remaining_recovery_codes,
    verify_second_factor,
)
from loyalty.errors import DomainError
from loyalty.rules import current_rules
from tests.factories import make_member
from tests.support import deadline_s, in_ci

RULES = current_rules().two_factor
KEY = bytes(range(32))
STEP = dt.timedelta(seconds=RULES.period_seconds)
ENROLLED_AT = dt.datetime(2026, 11, 20, 9, 0, 10, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 20, 10, 0, 10, tzinfo=dt.UTC)  # 10 s into a step, an hour after enrolment
RECOVERY_SHAPE = re.compile(r"^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$")


async def previous_step_code(secret: str) -> str:
    """The code of the step before the current one, taken with enough of the current step left that the
    service still finds it one step back when it checks (on a loaded machine getting there takes seconds;
    across a step boundary the code would be two steps old and refused)."""
    step = RULES.period_seconds
    left = step - time.time() % step
    if left < min(deadline_s(5), step / 2):
        await asyncio.sleep(left)  # lets this step end on purpose: the next one leaves a whole step of room
    return await oath(secret, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=step))


async def oath(secret: str, at: dt.datetime) -> str:
    """The code an authenticator app shows at ``at``, computed by oathtool."""
    tool = shutil.which("oathtool")
    if tool is None:
        message = "oathtool is not installed (apt-get install oathtool)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    process = await asyncio.create_subprocess_exec(
        tool,
        "--totp",
        "-b",
        "-d",
        str(RULES.digits),
        f"--time-step-size={RULES.period_seconds}s",
        "-N",
        f"@{int(at.timestamp())}",
        secret,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=deadline_s(10))
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def wrong_code(secret: str, at: dt.datetime) -> str:
    window = {await oath(secret, at + offset * STEP) for offset in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in window)


async def enrolled(email: str = "member@example.com") -> tuple[int, str, list[str]]:
    """A member with app 2FA on since ENROLLED_AT: account id, secret, recovery codes."""
    member = (await make_member(email)).member
    enrolment = await begin_enrolment(account_id=member.id, account_label=email, key=KEY, rules=RULES)
    code = await oath(enrolment.secret_base32, ENROLLED_AT)
    codes = await confirm_enrolment(account_id=member.id, code=code, key=KEY, rules=RULES, now=ENROLLED_AT)
    return member.id, enrolment.secret_base32, codes


async def verify(account_id: int, code: str, now: dt.datetime = NOW) -> None:
    await verify_second_factor(account_id=account_id, code=code, key=KEY, rules=RULES, now=now)


async def factor_of(account_id: int) -> TotpFactor:
    return await TotpFactor.get(account_id=account_id)


async def test_oathtool_matches_rfc_6238() -> None:
    """The oracle itself: RFC 6238 appendix B, SHA-1, T = 59 s, last six digits of 94287082."""
    rfc_secret = base64.b32encode(b"12345678901234567890").decode()
    assert await oath(rfc_secret, dt.datetime.fromtimestamp(59, dt.UTC)) == "287082"


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(0, True), (-1, True), (1, True), (-2, False), (2, False)],
    ids=["current step", "previous step", "next step", "two steps back", "two steps ahead"],
)
async def test_window_of_one_step_either_side(db: Settings, offset: int, accepted: bool) -> None:
    account_id, secret, _ = await enrolled()
    code = await oath(secret, NOW + offset * STEP)
    if accepted:
        await verify(account_id, code)
        assert (await factor_of(account_id)).last_used_step == int(NOW.timestamp()) // 30 + offset
    else:
        with pytest.raises(TwoFactorInvalid):
            await verify(account_id, code)
        assert (await factor_of(account_id)).failed_attempts == 1


async def test_the_same_code_is_accepted_once(db: Settings) -> None:
    account_id, secret, _ = await enrolled()
    code = await oath(secret, NOW)
    await verify(account_id, code)
    with pytest.raises(TwoFactorCodeReused) as refused:
        await verify(account_id, code, NOW + dt.timedelta(seconds=5))
    assert refused.value.code == "TWO_FACTOR_CODE_REUSED"
    assert (await factor_of(account_id)).failed_attempts == 0  # refused, not counted


async def test_an_older_code_after_a_newer_one_is_refused(db: Settings) -> None:
    account_id, secret, _ = await enrolled()
    await verify(account_id, await oath(secret, NOW + STEP))
    with pytest.raises(TwoFactorCodeReused):
        await verify(account_id, await oath(secret, NOW))
    await verify(account_id, await oath(secret, NOW + 2 * STEP), NOW + 2 * STEP)


async def test_the_enrolment_code_cannot_be_replayed_at_sign_in(db: Settings) -> None:
    account_id, secret, _ = await enrolled()
    with pytest.raises(TwoFactorCodeReused):
        await verify(account_id, await oath(secret, ENROLLED_AT), ENROLLED_AT)


async def test_a_recovery_code_works_once(db: Settings) -> None:
    account_id, _, codes = await enrolled()
    assert await remaining_recovery_codes(account_id=account_id) == RULES.recovery_codes
    await verify(account_id, codes[0])
    assert await remaining_recovery_codes(account_id=account_id) == RULES.recovery_codes - 1
    with pytest.raises(TwoFactorInvalid):
        await verify(account_id, codes[0])
    await verify(account_id, f" {codes[1].lower().replace('-', '')} ")  # typed loosely
    with pytest.raises(TwoFactorInvalid):
        await verify(account_id, "ABCDE-FGHJK")


async def test_recovery_codes_are_readable_unique_and_stored_hashed(db: Settings) -> None:
    account_id, _, codes = await enrolled()
    assert len(codes) == RULES.recovery_codes == len(set(codes))
    assert all(RECOVERY_SHAPE.match(code) for code in codes)
    stored = await RecoveryCode.filter(account_id=account_id).values_list("code_hash", flat=True)
    assert len(stored) == len(codes)
    assert all(str(value).startswith("$argon2id$") for value in stored)
    assert not any(code.replace("-", "") in str(value) for code in codes for value in stored)


async def test_wrong_codes_lock_the_factor_for_the_lockout(db: Settings) -> None:
    account_id, secret, codes = await enrolled()
    wrong = await wrong_code(secret, NOW)
    for _ in range(RULES.max_failed_attempts - 1):
        with pytest.raises(TwoFactorInvalid) as refused:
            await verify(account_id, wrong)
        assert refused.value.code == "TWO_FACTOR_INVALID"
    with pytest.raises(TwoFactorLocked) as locked:
        await verify(account_id, wrong)
    unlocks_at = NOW + dt.timedelta(minutes=RULES.lockout_minutes)
    assert locked.value.code == "TWO_FACTOR_LOCKED" and locked.value.unlocks_at == unlocks_at
    step_before = (await factor_of(account_id)).last_used_step
    just_before = unlocks_at - dt.timedelta(seconds=1)
    for right in (await oath(secret, just_before), codes[0]):
        with pytest.raises(TwoFactorLocked):
            await verify(account_id, right, just_before)
    factor = await factor_of(account_id)
    assert factor.failed_attempts == RULES.max_failed_attempts and factor.last_used_step == step_before
    assert await remaining_recovery_codes(account_id=account_id) == RULES.recovery_codes
    await verify(account_id, await oath(secret, unlocks_at), unlocks_at)
    factor = await factor_of(account_id)
    assert factor.failed_attempts == 0 and factor.locked_until is None


async def test_a_right_code_clears_the_failure_count(db: Settings) -> None:
    account_id, secret, _ = await enrolled()
    for _ in range(RULES.max_failed_attempts - 1):
        with pytest.raises(TwoFactorInvalid):
            await verify(account_id, await wrong_code(secret, NOW))
    await verify(account_id, await oath(secret, NOW))
    assert (await factor_of(account_id)).failed_attempts == 0


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "١٢٣٤٥٦", ""])
async def test_malformed_codes_are_wrong_codes(db: Settings, code: str) -> None:
    account_id, _, _ = await enrolled()
    with pytest.raises(TwoFactorInvalid):
        await verify(account_id, code)
    assert (await factor_of(account_id)).failed_attempts == 1


async def test_disable_needs_a_valid_code(db: Settings) -> None:
    account_id, secret, _ = await enrolled()
    with pytest.raises(TwoFactorInvalid):
        await disable(
            account_id=account_id, code=await wrong_code(secret, NOW), key=KEY, rules=RULES, now=NOW
        )
    assert await has_confirmed_factor(account_id=account_id)
    await disable(account_id=account_id, code=await oath(secret, NOW), key=KEY, rules=RULES, now=NOW)
    assert not await has_confirmed_factor(account_id=account_id)
    assert not await TotpFactor.filter(account_id=account_id).exists()
    assert await RecoveryCode.filter(account_id=account_id).count() == 0
    with pytest.raises(TwoFactorNotEnabled) as refused:
        await verify(account_id, await oath(secret, NOW + STEP))
    assert refused.value.code == "TWO_FACTOR_NOT_ENABLED"
    with pytest.raises(TwoFactorNotEnabled):
        await disable(account_id=account_id, code=await oath(secret, NOW), key=KEY, rules=RULES, now=NOW)


async def test_disable_with_a_recovery_code(db: Settings) -> None:
    account_id, _, codes = await enrolled()
    await disable(account_id=account_id, code=codes[3], key=KEY, rules=RULES, now=NOW)
    assert not await has_confirmed_factor(account_id=account_id)


async def test_begin_is_refused_while_2fa_is_on(db: Settings) -> None:
    account_id, _, _ = await enrolled()
    with pytest.raises(TwoFactorAlreadyEnabled) as refused:
        await begin_enrolment(account_id=account_id, account_label="x", key=KEY, rules=RULES)
    assert refused.value.code == "TWO_FACTOR_ALREADY_ENABLED"


async def test_an_unconfirmed_enrolment_is_replaced(db: Settings) -> None:
    member = (await make_member()).member
    first = await begin_enrolment(account_id=member.id, account_label="a", key=KEY, rules=RULES)
    second = await begin_enrolment(account_id=member.id, account_label="a", key=KEY, rules=RULES)
    assert first.secret_base32 != second.secret_base32
    assert await TotpFactor.filter(account_id=member.id).count() == 1
    assert not await has_confirmed_factor(account_id=member.id)
    with pytest.raises(TwoFactorNotEnabled):
        await verify(member.id, await oath(second.secret_base32, NOW))
    with pytest.raises(TwoFactorInvalid):
        await confirm_enrolment(
            account_id=member.id, code=await oath(first.secret_base32, NOW), key=KEY, rules=RULES, now=NOW
        )
    code = await oath(second.secret_base32, NOW)
    await confirm_enrolment(account_id=member.id, code=code, key=KEY, rules=RULES, now=NOW)
    assert await has_confirmed_factor(account_id=member.id)
    with pytest.raises(TwoFactorAlreadyEnabled):
        await confirm_enrolment(account_id=member.id, code=code, key=KEY, rules=RULES, now=NOW)


async def test_confirm_needs_a_started_enrolment(db: Settings) -> None:
    member = (await make_member()).member
    with pytest.raises(TwoFactorNotStarted) as refused:
        await confirm_enrolment(account_id=member.id, code="123456", key=KEY, rules=RULES, now=NOW)
    assert refused.value.code == "TWO_FACTOR_NOT_STARTED"


async def test_secret_is_160_bits_and_stored_encrypted(db: Settings) -> None:
    member = (await make_member()).member
    enrolment = await begin_enrolment(account_id=member.id, account_label="a", key=KEY, rules=RULES)
    assert len(enrolment.secret_base32) == 32
    assert len(base64.b32decode(enrolment.secret_base32)) == 20
    stored = (await factor_of(member.id)).secret_encrypted
    assert enrolment.secret_base32 not in stored
    assert Fernet(base64.urlsafe_b64encode(KEY)).decrypt(stored.encode()).decode() == enrolment.secret_base32


async def test_otpauth_uri_and_qr_code(db: Settings) -> None:
    member = (await make_member()).member
    label = "grace@example.com"
    enrolment = await begin_enrolment(account_id=member.id, account_label=label, key=KEY, rules=RULES)
    uri = urlsplit(enrolment.otpauth_uri)
    query = parse_qs(uri.query)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == f"/{RULES.issuer_name}:{label}"
    assert query["secret"] == [enrolment.secret_base32]
    assert query["issuer"] == [RULES.issuer_name]
    # The key URI format leaves out the defaults (6 digits, 30 s); anything else must be spelt out.
    assert query.get("digits", ["6"]) == [str(RULES.digits)]
    assert query.get("period", ["30"]) == [str(RULES.period_seconds)]
    assert enrolment.qr_svg.startswith("<svg") and enrolment.qr_svg.rstrip().endswith("</svg>")


async def test_a_wrong_confirmation_code_counts(db: Settings) -> None:
    member = (await make_member()).member
    enrolment = await begin_enrolment(account_id=member.id, account_label="a", key=KEY, rules=RULES)
    wrong = await wrong_code(enrolment.secret_base32, NOW)
    with pytest.raises(TwoFactorInvalid):
        await confirm_enrolment(account_id=member.id, code=wrong, key=KEY, rules=RULES, now=NOW)
    assert (await factor_of(member.id)).failed_attempts == 1
    assert await RecoveryCode.filter(account_id=member.id).count() == 0


def _codes(results: list[BaseException | None]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        if result is not None and not isinstance(result, DomainError):
            raise result
        name = "OK" if result is None else result.code
        counts[name] = counts.get(name, 0) + 1
    return counts


async def _open_connections(count: int) -> None:
    """Open the pool's connections first, so the attempts below really overlap (pg_sleep only makes the
    queries overlap so that the pool opens ``count`` connections; nothing waits on it as a signal)."""
    pool = connections.get("default")
    await asyncio.gather(*[pool.execute_query("SELECT pg_sleep(0.05)") for _ in range(count)])


@pytest.mark.postgres
async def test_concurrent_wrong_codes_lock_after_exactly_the_limit(pg_db: Settings) -> None:
    account_id, secret, _ = await enrolled()
    wrong = await wrong_code(secret, NOW)
    await _open_connections(10)
    results = await asyncio.gather(*[verify(account_id, wrong) for _ in range(10)], return_exceptions=True)
    assert _codes(results) == {
        "TWO_FACTOR_INVALID": RULES.max_failed_attempts - 1,
        "TWO_FACTOR_LOCKED": 10 - (RULES.max_failed_attempts - 1),
    }
    factor = await factor_of(account_id)
    assert factor.failed_attempts == RULES.max_failed_attempts
    assert factor.locked_until == NOW + dt.timedelta(minutes=RULES.lockout_minutes)


@pytest.mark.postgres
async def test_concurrent_uses_of_one_code_succeed_once(pg_db: Settings) -> None:
    account_id, secret, codes = await enrolled()
    code = await oath(secret, NOW)
    await _open_connections(5)
    results = await asyncio.gather(*[verify(account_id, code) for _ in range(5)], return_exceptions=True)
    assert _codes(results) == {"OK": 1, "TWO_FACTOR_CODE_REUSED": 4}
    results = await asyncio.gather(*[verify(account_id, codes[0]) for _ in range(5)], return_exceptions=True)
    assert _codes(results) == {"OK": 1, "TWO_FACTOR_INVALID": 4}
    assert await remaining_recovery_codes(account_id=account_id) == RULES.recovery_codes - 1
