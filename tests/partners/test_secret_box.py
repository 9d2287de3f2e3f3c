"""Encryption at rest of signing secrets: round trip, binding to the partner, wrong key, tampering."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partners.secret_box import SecretBox, SecretBoxError, fingerprint


@given(secret=st.text(min_size=1, max_size=120), partner_id=st.integers(min_value=1, max_value=2**62))
def test_round_trip(secret: str, partner_id: int) -> None:
    box = SecretBox(b"k" * 32)
    sealed = box.seal(secret, partner_id=partner_id)
    assert box.open(sealed, partner_id=partner_id) == secret


def test_same_secret_seals_differently_each_time() -> None:
    box = SecretBox(os.urandom(32))
    assert box.seal("whsec_abc", partner_id=1) != box.seal("whsec_abc", partner_id=1)


@pytest.mark.parametrize("case", ["other-partner", "other-key", "tampered", "unknown-version", "garbage"])
def test_what_does_not_open(case: str) -> None:
    box = SecretBox(b"a" * 32)
    sealed = box.seal("whsec_secret", partner_id=7)
    opener, partner_id = box, 7
    if case == "other-partner":
        partner_id = 8
    elif case == "other-key":
        opener = SecretBox(b"b" * 32)
    elif case == "tampered":
        sealed = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    elif case == "unknown-version":
        sealed = "v9" + sealed[2:]
    else:
        sealed = "v1:not base64!"
    with pytest.raises(SecretBoxError):
        opener.open(sealed, partner_id=partner_id)


def test_key_must_have_32_bytes() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        SecretBox(b"short")


def test_fingerprint_is_short_stable_and_not_the_secret() -> None:
    assert fingerprint("whsec_abc") == fingerprint("whsec_abc")
    assert len(fingerprint("whsec_abc")) == 12
    assert "abc" not in fingerprint("whsec_abc")
