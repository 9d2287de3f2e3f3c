"""Short-lived signed tokens (JWT, HS256): access tokens, and one-time second-factor challenges.

An access token carries the account id, the level it was issued at and ``auth_time``, the moment of the
last fresh credentials. It counts as AUTHENTICATED only while that moment is inside the configured
window; after that, or when issued from a refresh token, it is IDENTIFIED. It also carries ``gen``, the
member's session generation when it was issued (see ``gateway.session_generations``).
"""

from __future__ import annotations

import functools
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from loyalty.members.models import SessionLevel
from loyalty.members.sessions import Challenge, Principal

ISSUER = "milesgate"
AUDIENCE = "milesgate-api"
CHALLENGE_AUDIENCE = "milesgate-second-factor"
ALGORITHM = "HS256"
ACCESS_CLAIMS_CACHED = 4096
"""Access tokens whose signature and claims are kept checked (LRU); the expiry is checked every time."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def derive_key(secret_key: str, purpose: str, length: int = 32) -> bytes:
    """A separate key per purpose (token signing, TOTP secret encryption) from the one service secret."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode()).derive(
        secret_key.encode()
    )


class TokenService:
    def __init__(
        self, secret_key: str, *, ttl_s: int, authenticated_window_s: int, challenge_ttl_s: int = 300
    ) -> None:
        self._key = OctKey.import_key(derive_key(secret_key, "milesgate access tokens"))
        self.ttl_s = ttl_s
        self.authenticated_window_s = authenticated_window_s
        self.challenge_ttl_s = challenge_ttl_s
        # Every request of a signed-in app presents the same token for its lifetime: check the HMAC and the
        # claims once per token, then only the expiry. Bounded, so random tokens cannot grow it.
        self._access_claims = functools.lru_cache(maxsize=ACCESS_CLAIMS_CACHED)(self._decode_access)

    def _encode(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": ALGORITHM}, claims, self._key, algorithms=[ALGORITHM])

    def _decode(self, token: str, audience: str) -> dict[str, Any] | None:
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": ISSUER},
                aud={"essential": True, "value": audience},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError, TypeError):
            return None
        return dict(decoded.claims)

    def _decode_access(self, token: str) -> dict[str, Any] | None:
        return self._decode(token, AUDIENCE)

    def issue(
        self, *, account_id: int, level: SessionLevel, generation: int, auth_time: int | None = None
    ) -> str:
        now = int(time.time())
        return self._encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": str(account_id),
                "lvl": level.value,
                "gen": generation,
                "auth_time": auth_time if auth_time is not None else now,
                "iat": now,
                "exp": now + self.ttl_s,
                "jti": uuid.uuid4().hex,
            }
        )

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unexpired token (its level downgraded once the window closed)."""
        claims = self._access_claims(token)
        now = time.time()
        if claims is None or now > claims["exp"]:
            return None
        try:
            level = SessionLevel(claims["lvl"])
            fresh = now - int(claims.get("auth_time", 0)) <= self.authenticated_window_s
            if level is SessionLevel.AUTHENTICATED and not fresh:
                level = SessionLevel.IDENTIFIED
            return Principal(
                account_id=int(claims["sub"]),
                level=level,
                token_id=str(claims.get("jti", "")),
                generation=int(claims.get("gen", 0)),
            )
        except (KeyError, ValueError, TypeError):
            return None

    def issue_challenge(self, *, account_id: int, method: str, platform: str) -> str:
        now = int(time.time())
        return self._encode(
            {
                "iss": ISSUER,
                "aud": CHALLENGE_AUDIENCE,
                "sub": str(account_id),
                "mth": method,
                "plt": platform,
                "iat": now,
                "exp": now + self.challenge_ttl_s,
                "jti": uuid.uuid4().hex,
            }
        )

    def verify_challenge(self, token: str) -> Challenge | None:
        claims = self._decode(token, CHALLENGE_AUDIENCE)
        if claims is None:
            return None
        try:
            return Challenge(
                account_id=int(claims["sub"]),
                method=str(claims["mth"]),
                platform=str(claims["plt"]),
                challenge_id=str(claims["jti"]),
                expires_at=int(claims["exp"]),
            )
        except (KeyError, ValueError, TypeError):
            return None
