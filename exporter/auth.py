"""Login and bearer tokens for the status API: werkzeug password hashes, itsdangerous tokens."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import request
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from heartbeat_core.errors import ApiError
from heartbeat_core.sections import User

# checked when the user does not exist, so that a wrong name costs as long as a wrong password
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Principal:
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Authenticator:
    def __init__(
        self,
        users: Mapping[str, User],
        secret_key: str | None,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.users = users
        self.ttl_seconds = ttl_seconds

        class ClockSigner(TimestampSigner):  # expiry follows the injected clock
            def get_timestamp(self) -> int:
                return int(clock())

        # without a configured key, tokens are valid for this process's lifetime only
        self.serializer = URLSafeTimedSerializer(
            secret_key or secrets.token_urlsafe(32), salt="heartbeat-status", signer=ClockSigner
        )

    def login(self, username: object, password: object) -> str:
        if not isinstance(username, str) or not isinstance(password, str):
            raise ApiError(400, "invalid_body", "'username' and 'password' must be strings")
        user = self.users.get(username)
        ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
        if user is None or not ok:
            raise ApiError(401, "invalid_credentials", "wrong username or password")
        return self.serializer.dumps({"u": username})

    def principal(self) -> Principal:
        """The caller of this request, from ``Authorization: Bearer``; 401 for anything else."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "a bearer token is required: POST /auth/login first")
        try:
            data = self.serializer.loads(token.strip(), max_age=self.ttl_seconds)
        except SignatureExpired:
            raise ApiError(401, "token_expired", "the token has expired; log in again") from None
        except BadSignature:
            raise ApiError(401, "invalid_token", "the token is not valid") from None
        user = self.users.get(data.get("u", "")) if isinstance(data, dict) else None
        if user is None:  # removed from the configuration since the token was issued
            raise ApiError(401, "invalid_token", "the token is not valid")
        return Principal(data["u"], user.role)
