"""PIN rules (DOMAIN.md §1: digits only, set length, nothing trivial) and argon2 hashes of PINs and passwords."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from loyalty.errors import ValidationFailed
from loyalty.identifiers import ascii_digits
from loyalty.rules import PinRules

T = TypeVar("T")

# OWASP's Password Storage Cheat Sheet: argon2id, one of its five equally strong settings: 7 MiB of memory,
# 5 passes, 1 lane, the one that costs the least CPU per hash on this project's machine (bench/hashing;
# README "PIN and password hashes").
OWASP_TIME_COST = 5
OWASP_MEMORY_KIB = 7 * 1024
OWASP_PARALLELISM = 1


@dataclass(frozen=True, slots=True)
class HashCost:
    """argon2id's cost for PIN and password hashes. The defaults are OWASP's minimum; an operator may raise
    them, and the test suite lowers them (it hashes thousands of PINs and proves nothing about argon2's
    cost). A hash records its own cost, so a hash made under one cost still verifies under another, and it
    is made again under the configured cost at the member's next successful sign-in."""

    time_cost: int = OWASP_TIME_COST
    memory_kib: int = OWASP_MEMORY_KIB
    parallelism: int = OWASP_PARALLELISM


@functools.cache
def hasher_for(cost: HashCost) -> PasswordHasher:
    """argon2-cffi's hasher at ``cost``, one per cost."""
    return PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism)


@functools.cache
def _dummy_hash(cost: HashCost) -> str:
    """Verifying against this keeps the time of a miss (an unknown account) equal to the time of a hit.
    Made on first use, not at import: the command line starts without paying for a hash."""
    return hasher_for(cost).hash("not-a-real-pin")


_cost = HashCost()
_threads = 0
_pool: list[ThreadPoolExecutor] = []


def use_hash_threads(threads: int) -> None:
    """How many threads of this process hash at once (``MILESGATE_SECRET_HASH_THREADS``); 0: one per CPU.
    Takes effect if the pool was not made yet."""
    global _threads
    _threads = threads


def _hash_pool() -> ThreadPoolExecutor:
    """The threads that hash (``use_hash_threads``; one per CPU by default), made on first use (after a
    server forked its processes).

    argon2 releases the GIL, so the event loop goes on serving while they work. Their own pool, not the
    loop's default one: at most one hash per CPU runs at a time (the others wait their turn, so a burst of
    sign-ins is answered first come first served instead of all slowly together, and holds at most
    CPUs x the configured memory), and a burst of hashes never holds up DNS look-ups or file reads that
    use the default pool."""
    if not _pool:
        threads = _threads or os.cpu_count() or 1
        _pool.append(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="secret-hash"))
    return _pool[0]


async def off_the_loop(work: Callable[[], T]) -> T:
    """Run ``work`` (argon2 hashing or verifying) on the hashing threads; the event loop never hashes."""
    return await asyncio.get_running_loop().run_in_executor(_hash_pool(), work)


def use_hash_cost(cost: HashCost) -> None:
    """Set the cost of new hashes for this process (the gateway, the worker and the CLI call it at start
    with the configured cost)."""
    global _cost
    _cost = cost


def hash_cost() -> HashCost:
    return _cost


def check_pin_rules(pin: str, rules: PinRules, *, date_of_birth: dt.date | None = None) -> None:
    """Refuse PINs of the wrong shape and the ones anybody would guess first."""
    if not ascii_digits(pin) or len(pin) != rules.length:
        raise ValidationFailed(f"The PIN has exactly {rules.length} digits.", field="pin", code="PIN_FORMAT")
    if is_trivial_pin(pin, date_of_birth=date_of_birth):
        raise ValidationFailed(
            "This PIN is too easy to guess (repeated or consecutive digits, or your date of birth).",
            field="pin",
            code="PIN_TOO_SIMPLE",
        )


def is_trivial_pin(pin: str, *, date_of_birth: dt.date | None = None) -> bool:
    digits = [int(ch) for ch in pin]
    steps = {b - a for a, b in itertools.pairwise(digits)}
    if len(set(digits)) <= 2 and len(pin) >= 4:
        return True  # 111111, 121212, 112211 …
    if steps in ({1}, {-1}):
        return True  # 123456, 987654
    if date_of_birth is not None:
        forms = {
            date_of_birth.strftime("%d%m%y"),
            date_of_birth.strftime("%y%m%d"),
            date_of_birth.strftime("%m%d%y"),
            date_of_birth.strftime("%d%m%Y"),
            date_of_birth.strftime("%Y%m%d"),
        }
        if any(form.startswith(pin) or pin.startswith(form) for form in forms):
            return True
    return False


async def hash_secret(pin: str) -> str:
    hasher = hasher_for(_cost)
    return await off_the_loop(lambda: hasher.hash(pin))


def _verify(cost: HashCost, pin_hash: str | None, pin: str) -> bool:
    try:
        return hasher_for(cost).verify(pin_hash or _dummy_hash(cost), pin) and pin_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_secret(pin_hash: str | None, pin: str) -> bool:
    """Constant-work check: with no hash (unknown account) a dummy hash is verified and fails."""
    cost = _cost
    return await off_the_loop(lambda: _verify(cost, pin_hash, pin))


@dataclass(frozen=True, slots=True)
class SecretCheck:
    """Whether a secret matched its stored hash, and the hash to store instead when the stored one was
    made under another cost than the configured one (None: keep it)."""

    matches: bool
    new_hash: str | None = None


async def check_secret(pin_hash: str | None, pin: str) -> SecretCheck:
    """``verify_secret``, and on a match under an outdated cost a new hash of the same secret under the
    configured cost (argon2-cffi's ``check_needs_rehash``), made in the same trip to the hashing threads."""
    cost = _cost

    def _check() -> SecretCheck:
        if not _verify(cost, pin_hash, pin) or pin_hash is None:
            return SecretCheck(matches=False)
        hasher = hasher_for(cost)
        return SecretCheck(
            matches=True, new_hash=hasher.hash(pin) if hasher.check_needs_rehash(pin_hash) else None
        )

    return await off_the_loop(_check)
