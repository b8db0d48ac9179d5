"""Login and bearer tokens for the status API: werkzeug password hashes, itsdangerous tokens.

A token is signed with HMAC-SHA-256 and names its user, a fingerprint of that user's password
hash and role, and an id of its own. Change the password or the role in the configuration and
the fingerprint no longer matches, so every token issued before stops working. A token works
while its session (its id) is in the store, for every exporter; ``logout`` removes it, and a
store that loses its data has logged everyone out rather than forgotten a logout. Logins are
throttled per client address and per user, and password checks (deliberately slow) run a few at
a time, so that a flood of logins cannot take the threads that scrapes need.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from exporter.access.throttle import LoginThrottle
from heartbeat_core.errors import ApiError
from heartbeat_core.sections import User
from heartbeat_core.stores import SessionStore

# checked when the user does not exist, so that a wrong name costs as long as a wrong password
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))
CONCURRENT_LOGINS = 1  # password checks at once; the rest get 429 at once instead of a thread


@dataclass(frozen=True)
class Principal:
    username: str
    role: str
    token_id: str = ""
    expires_at: float = 0.0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Authenticator:
    def __init__(
        self,
        users: Mapping[str, User],
        secret_key: str | None,
        ttl_seconds: int,
        sessions: SessionStore,
        clock: Callable[[], float] = time.time,
        failures_per_minute: int = 5,
    ) -> None:
        self.users = users
        self.ttl_seconds = ttl_seconds
        self.sessions = sessions
        self.clock = clock

        class ClockSigner(TimestampSigner):  # expiry follows the injected clock
            def get_timestamp(self) -> int:
                return int(clock())

        # without a configured key, tokens are valid for this process's lifetime only
        self._key = (secret_key or secrets.token_urlsafe(32)).encode()
        self.serializer = URLSafeTimedSerializer(
            self._key,
            salt="heartbeat-status",
            signer=ClockSigner,
            signer_kwargs={"digest_method": hashlib.sha256},
        )
        self.throttle = LoginThrottle(failures_per_minute, clock=clock)
        self._checking = threading.BoundedSemaphore(CONCURRENT_LOGINS)

    def fingerprint(self, user: User) -> str:
        """Changes whenever the user's password hash or role does."""
        material = f"{user.role}\0{user.password_hash}".encode()
        return hmac.new(self._key, material, hashlib.sha256).hexdigest()[:24]

    def shown_name(self, name: str, admin: bool) -> str:
        """A service's name as a viewer may see it: a derived name (``type-4@10.0.0.7``) carries
        a sender's IP, which only admins see; a viewer gets a stable pseudonym for the address
        (``type-4@host-3f2a9c1b``), the same in the status API, the history and the events."""
        if admin:
            return name
        head, at, address = name.partition("@")
        if not at or not head.startswith("type-"):
            return name
        digest = hmac.new(self._key, b"address\0" + address.encode(), hashlib.sha256).hexdigest()
        return f"{head}@host-{digest[:8]}"

    def _bucket(self, name: str) -> int:
        return (
            int.from_bytes(hmac.new(self._key, b"name\0" + name.encode(), hashlib.sha256).digest()[:4], "big")
            % 4096
        )

    def login(self, username: object, password: object, address: str) -> str:
        if not isinstance(username, str) or not isinstance(password, str):
            raise ApiError(400, "invalid_body", "'username' and 'password' must be strings")
        user = self.users.get(username)
        # a name that is no user is limited like one, so that locking out tells nothing of which
        # names exist; it counts in one of a fixed number of buckets, so it cannot grow the table
        keys = (f"address:{address}", f"user:{username}" if user else f"name:{self._bucket(username)}")
        self.throttle.check(*keys)
        if not self._checking.acquire(blocking=False):
            raise ApiError(429, "too_many_logins", "too many logins at once; try again", retry_after=1)
        try:
            ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
        finally:
            self._checking.release()
        if user is None or not ok:
            self.throttle.failed(*keys)
            raise ApiError(401, "invalid_credentials", "wrong username or password")
        token_id = secrets.token_urlsafe(12)
        now = self.clock()
        self.sessions.open(token_id, now + self.ttl_seconds, now)  # a redis error: 503
        return self.serializer.dumps({"u": username, "f": self.fingerprint(user), "j": token_id})

    def principal(self, authorization: str) -> Principal:
        """The caller, from the ``Authorization: Bearer`` header's value; 401 for anything else."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "a bearer token is required: POST /auth/login first")
        try:
            data, issued = self.serializer.loads(
                token.strip(), max_age=self.ttl_seconds, return_timestamp=True
            )
        except SignatureExpired:
            raise ApiError(401, "token_expired", "the token has expired; log in again") from None
        except BadSignature:
            raise ApiError(401, "invalid_token", "the token is not valid") from None
        principal = self._principal(data, issued.timestamp())
        if not self.sessions.is_open(principal.token_id):  # a redis error: 503, never let through
            raise ApiError(401, "token_revoked", "the token was logged out; log in again")
        return principal

    def _principal(self, data: Any, issued: float) -> Principal:
        fields = data if isinstance(data, dict) else {}
        user = self.users.get(str(fields.get("u", "")))
        if user is None:  # removed from the configuration since the token was issued
            raise ApiError(401, "invalid_token", "the token is not valid")
        if not hmac.compare_digest(str(fields.get("f", "")), self.fingerprint(user)):
            raise ApiError(401, "token_revoked", "the password or role changed since login; log in again")
        return Principal(str(fields["u"]), user.role, str(fields.get("j", "")), issued + self.ttl_seconds)

    def logout(self, principal: Principal) -> None:
        self.sessions.close(principal.token_id)
