"""Short-lived access tokens (JWT, HS256) that carry the account id and the session level."""

from __future__ import annotations

import time
import uuid

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from loyalty.members.models import SessionLevel
from loyalty.members.sessions import Principal

ISSUER = "milesgate"
AUDIENCE = "milesgate-api"
ALGORITHM = "HS256"


class TokenService:
    def __init__(self, secret_key: str, *, ttl_s: int) -> None:
        self._key = OctKey.import_key(secret_key.encode())
        self.ttl_s = ttl_s
        self._claims = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": ISSUER},
            aud={"essential": True, "value": AUDIENCE},
            exp={"essential": True},
            sub={"essential": True},
        )

    def issue(self, *, account_id: int, level: SessionLevel) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(account_id),
            "lvl": level.value,
            "iat": now,
            "exp": now + self.ttl_s,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode({"alg": ALGORITHM}, claims, self._key, algorithms=[ALGORITHM])

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unexpired token; None for anything else."""
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            self._claims.validate(decoded.claims)
            return Principal(
                account_id=int(decoded.claims["sub"]),
                level=SessionLevel(decoded.claims["lvl"]),
                token_id=str(decoded.claims.get("jti", "")),
            )
        except (JoseError, ValueError, KeyError, TypeError):
            return None
