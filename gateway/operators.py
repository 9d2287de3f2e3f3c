"""Operator tokens: the admin principal of the GraphQL API.

An operator token is a JWT (HS256) signed with its own key, derived from the service's secret key for
this purpose only, with its own audience and a ``role`` claim. A member's access token has another key
and another audience, so it can never pass as an operator token, whatever claims it carries. There is no
sign-in for operators: whoever can run ``milesgate operators token`` on a machine holding the secret key
mints one, for at most ``MAX_TTL_S``.

A minted token is recorded by its id (``jti``) in the database (``loyalty.operators``); ``admit``, the
check every admin request passes, refuses a token that is not recorded or was revoked (``milesgate
operators tokens revoke``), from the very next request on: one indexed read, only for requests that
carry a validly signed operator token.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from gateway.tokens import ALGORITHM, ISSUER, derive_key
from loyalty.operators import Operator, OperatorRole, OperatorToken, is_admitted, record_token

AUDIENCE = "milesgate-admin"
PURPOSE = "milesgate operator tokens"
MAX_TTL_S = 24 * 3600
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class OperatorTokens:
    def __init__(self, secret_key: str) -> None:
        self._key = OctKey.import_key(derive_key(secret_key, PURPOSE))

    async def mint(
        self, *, name: str, role: OperatorRole = OperatorRole.ADMIN, ttl_s: int = 8 * 3600
    ) -> tuple[str, OperatorToken]:
        """A new operator token, recorded (so it is admitted, and can be listed and revoked): the token
        (shown once, never stored) and its record."""
        token = self.issue(name=name, role=role, ttl_s=ttl_s)
        claims = jwt.decode(token, self._key, algorithms=[ALGORITHM]).claims
        record = await record_token(
            token_id=str(claims["jti"]),
            name=name,
            role=role,
            issued_at=dt.datetime.fromtimestamp(int(claims["iat"]), dt.UTC),
            expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC),
        )
        return token, record

    async def admit(self, token: str) -> Operator | None:
        """The operator of a valid token (``verify``) that was minted here and is not revoked; None otherwise."""
        operator = self.verify(token)
        if operator is None or not await is_admitted(token_id=operator.token_id, now=dt.datetime.now(dt.UTC)):
            return None
        return operator

    def issue(self, *, name: str, role: OperatorRole = OperatorRole.ADMIN, ttl_s: int = 8 * 3600) -> str:
        """A signed operator token, not recorded: ``admit`` refuses it until it is (use ``mint``)."""
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
        """The operator of a validly signed, unexpired operator token with a known role; None otherwise
        (the signature and claims only: ``admit`` also checks the record)."""
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
