"""Operator tokens: the admin principal of the GraphQL API.

An operator token is a JWT (HS256) signed with its own key, derived from the service's secret key for
this purpose only, with its own audience and a ``role`` claim. A member's access token has another key
and another audience, so it can never pass as an operator token, whatever claims it carries. There is no
sign-in for operators: whoever can run ``milesgate operators token`` on a machine holding the secret key
mints one, for at most ``MAX_TTL_S``.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from gateway.tokens import ALGORITHM, ISSUER, derive_key
from loyalty.operators import Operator, OperatorRole

AUDIENCE = "milesgate-admin"
PURPOSE = "milesgate operator tokens"
MAX_TTL_S = 24 * 3600
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class OperatorTokens:
    def __init__(self, secret_key: str) -> None:
        self._key = OctKey.import_key(derive_key(secret_key, PURPOSE))

    def issue(self, *, name: str, role: OperatorRole = OperatorRole.ADMIN, ttl_s: int = 8 * 3600) -> str:
        if not _NAME.match(name):
            raise ValueError("an operator name is 1-64 letters, digits, '.', '_', '@' or '-'")
        if not 0 < ttl_s <= MAX_TTL_S:
            raise ValueError(f"an operator token lives between 1 s and {MAX_TTL_S} s")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": name,
            "role": role.value,
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode({"alg": ALGORITHM}, claims, self._key, algorithms=[ALGORITHM])

    def verify(self, token: str) -> Operator | None:
        """The operator of a valid, unexpired operator token with a known role; None otherwise."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": ISSUER},
                aud={"essential": True, "value": AUDIENCE},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
            return Operator(
                name=str(decoded.claims["sub"]),
                role=OperatorRole(decoded.claims["role"]),
                token_id=str(decoded.claims.get("jti", "")),
            )
        except (JoseError, ValueError, TypeError, KeyError):
            return None
