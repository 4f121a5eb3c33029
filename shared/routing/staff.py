"""Staff accounts and login of the system's own token issuer (China regions, local stack).

A staff member logs in with username, password and a one-time code from an authenticator app (TOTP,
RFC 6238: HMAC-SHA1, 30-second steps, 6 digits of ASCII, one step of clock drift either way, each step usable
once). Passwords are stored as scrypt hashes with a salt per account (rehashed at login when the cost was raised);
TOTP secrets encrypted with a key kept in Secrets Manager (shared/core/auth.py). Failures, not attempts, are counted
per username and client address: after a few, that pair waits longer and longer, while the same user elsewhere can
still sign in; a county_admin can unlock. Attempts are also rate-limited per client address. Every failure gets
the same answer, whether the username exists or not. On global AWS, Cognito does all of this and these routes
answer 404.
"""

import base64
import contextlib
import functools
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.core import auth, errors, ratelimit, reference_data, roles
from shared.core.auth import Principal, Role
from shared.core.dal.staff import StaffStore
from shared.core.errors import ApiError, from_validation_error
from shared.core.http import StaffCall
from shared.core.observability import logger
from shared.core.settings import Settings

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD_LENGTH = 12
# scrypt cost: 128 MiB per hash (OWASP's minimum), some 0.3 s; the routing functions have the memory for it.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SCRYPT_MAX_MEMORY = 256 * 1024 * 1024  # hashlib refuses more than 32 MiB unless told
TOTP_CODE = re.compile(r"[0-9]{6}", re.ASCII)
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
TOTP_DRIFT_STEPS = 1


class AccountExists(Exception):
    pass


# --- passwords ------------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=SCRYPT_MAX_MEMORY, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    scheme, n, r, p, salt, digest = stored.split("$")
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        maxmem=SCRYPT_MAX_MEMORY,
        dklen=len(expected),
    )
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str) -> bool:
    """A hash made with a lower cost than today's."""
    _, n, r, p, _, _ = stored.split("$")
    return (int(n), int(r), int(p)) < (SCRYPT_N, SCRYPT_R, SCRYPT_P)


@functools.cache
def _dummy_hash() -> str:
    # Checked against when the username is unknown, so that both failures take as long.
    return hash_password("no such account")


# --- one-time codes -------------------------------------------------------------------------------------------


def new_totp_secret() -> str:
    return base64.b32encode(os.urandom(20)).decode("ascii")


def hotp(key: bytes, counter: int, digits: int = TOTP_DIGITS, digest: str = "sha1") -> str:
    """RFC 4226: the code for one counter value (TOTP's counter is the time step)."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), digest).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def totp_step(moment: datetime) -> int:
    return int(moment.timestamp()) // TOTP_STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is, within the allowed drift, or None (also for anything but 6 ASCII digits)."""
    if not TOTP_CODE.fullmatch(code):
        return None
    key = base64.b32decode(secret)
    current = totp_step(now)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def provisioning_uri(username: str, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads (usually from a QR code)."""
    issuer = f"{reference_data.county().name}行政执法热点追踪"
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": TOTP_DIGITS, "period": TOTP_STEP_SECONDS}
    )
    return f"otpauth://totp/{quote(issuer)}:{quote(username)}?{query}"


# --- accounts -------------------------------------------------------------------------------------------------


class StaffAccount(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: str
    name: str
    role: Role
    department: str | None = None
    password_hash: str
    # Encrypted ("v1:…"); accounts from before encryption hold the plain secret until their next login.
    totp_secret: str
    active: bool = True
    token_generation: int = 0
    created_at: datetime

    def plain_totp_secret(self, settings: Settings) -> str:
        if self.totp_secret.startswith("v1:"):
            return auth.decrypt_totp_secret(settings, self.username, self.totp_secret)
        return self.totp_secret


def create_account(
    settings: Settings,
    username: str,
    name: str,
    role: Role,
    department: str | None,
    password: str,
    now: datetime | None = None,
) -> str:
    """Store a new account; returns its TOTP provisioning URI (shown once). ValueError for bad input."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise ValueError("username: 2-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    try:
        Principal(subject=username, name=name, role=role, department=department)
    except ValidationError as error:
        raise ValueError(f"role and department do not fit: {error.errors()[0]['msg']}") from error
    secret = new_totp_secret()
    account = StaffAccount(
        username=username,
        name=name,
        role=role,
        department=department,
        password_hash=hash_password(password),
        totp_secret=auth.encrypt_totp_secret(settings, username, secret),
        created_at=now or datetime.now(UTC),
    )
    if not StaffStore(settings).create(username, account.model_dump(mode="json")):
        raise AccountExists(username)
    return provisioning_uri(username, secret)


# --- login ----------------------------------------------------------------------------------------------------


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp: str = Field(min_length=1, max_length=16)


class LoginAnswer(BaseModel):
    token: str
    expires_at: datetime
    name: str
    role: Role
    department: str | None


def _own_issuer_only(settings: Settings) -> None:
    if not auth.own_issuer(settings):
        raise ApiError(404, "not_found", "找不到该地址")


def _login_failed() -> ApiError:
    return ApiError(401, "login_failed", "用户名、密码或动态验证码不正确")


def _failure_delay(settings: Settings, failures: int) -> int:
    """Seconds a username and address must wait after this many failures: none for the first few, then doubling."""
    if failures < settings.login_free_failures:
        return 0
    return int(min(30 * 2 ** (failures - settings.login_free_failures), settings.login_max_delay_seconds))


def _client(ip: str, settings: Settings) -> str:
    # An address is personal data: only its keyed hash is stored.
    return hmac.new(settings.contact_hash_key.encode(), ip.encode(), hashlib.sha256).hexdigest()[:32]


def login(settings: Settings, body: bytes, content_type: str, ip: str, now: datetime | None = None) -> LoginAnswer:
    """Check username, password and one-time code; answer a token. The body is not archived: it holds a password."""
    _own_issuer_only(settings)
    now = now or datetime.now(UTC)
    errors.check_json_body(settings, body, content_type)
    try:
        request = LoginRequest.model_validate_json(body)
    except ValidationError as error:
        raise from_validation_error(error) from error
    username = request.username.strip().lower()
    ratelimit.enforce(settings, "login-ip", ip, settings.logins_per_ip_per_hour, 3600, now)
    store = StaffStore(settings)
    client = _client(ip, settings)
    # Failures are counted for any username, existing or not, so the wait tells nothing either.
    failures, last_failure = store.failures(username, client)
    if last_failure is not None and (now - last_failure).total_seconds() > settings.login_max_delay_seconds:
        failures = 0  # long enough ago: start counting again
    wait = _failure_delay(settings, failures)
    if wait and last_failure is not None and (now - last_failure).total_seconds() < wait:
        logger.info("staff login refused", extra={"code": "login_delayed"})
        raise ApiError(429, "login_delayed", f"登录失败次数过多，请 {max(1, wait // 60)} 分钟后再试")
    values: dict[str, Any] | None = store.get(username) if USERNAME.fullmatch(username) else None
    account = StaffAccount.model_validate(values) if values else None
    # The password is checked even for an unknown username, against a dummy hash: same answer, same time.
    password_ok = verify_password(request.password, account.password_hash if account else _dummy_hash())
    step = matching_step(account.plain_totp_secret(settings), request.totp.strip(), now) if account else None
    if account is None or not account.active or not password_ok or step is None:
        store.record_failures(username, client, failures + 1, now)
        logger.info("staff login refused", extra={"code": "login_failed"})
        raise _login_failed()
    if not store.use_totp_step(username, step):  # a code seen before: perhaps watched over a shoulder
        store.record_failures(username, client, failures + 1, now)
        logger.info("staff login refused", extra={"code": "totp_reused"})
        raise _login_failed()
    store.clear_failures(username, client)
    _upgrade_stored_credentials(settings, store, account, request.password)
    principal = Principal(subject=username, name=account.name, role=account.role, department=account.department)
    token, expires_at = auth.issue_token(
        settings, principal, settings.auth_token_seconds, now, generation=account.token_generation
    )
    logger.info("staff login", extra={"role": principal.role.value})
    return LoginAnswer(
        token=token, expires_at=expires_at, name=account.name, role=account.role, department=account.department
    )


def _upgrade_stored_credentials(settings: Settings, store: StaffStore, account: StaffAccount, password: str) -> None:
    """At a successful login, the only time the password is known: rehash it at today's cost, and encrypt a TOTP
    secret stored before encryption."""
    changes: dict[str, Any] = {}
    if needs_rehash(account.password_hash):
        changes["password_hash"] = hash_password(password)
    if not account.totp_secret.startswith("v1:"):
        changes["totp_secret"] = auth.encrypt_totp_secret(settings, account.username, account.totp_secret)
    if changes:
        store.update(account.username, changes, end_sessions=False)


# --- ending sessions, unlocking -------------------------------------------------------------------------------


class UnknownAccount(Exception):
    pass


def _change(settings: Settings, username: str, values: dict[str, Any], end_sessions: bool) -> None:
    if not StaffStore(settings).update(username, values, end_sessions):
        raise UnknownAccount(username)
    auth.forget_session(username)


def deactivate(settings: Settings, username: str) -> None:
    """The account cannot log in, and every token it holds stops working."""
    _change(settings, username.strip().lower(), {"active": False}, end_sessions=True)


def reactivate(settings: Settings, username: str) -> None:
    """The account can log in again (its earlier tokens stay ended)."""
    _change(settings, username.strip().lower(), {"active": True}, end_sessions=False)


def reset_password(settings: Settings, username: str, password: str) -> None:
    """A new password; every token of the account stops working and its failed logins are forgotten."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    username = username.strip().lower()
    _change(settings, username, {"password_hash": hash_password(password)}, end_sessions=True)
    StaffStore(settings).clear_failures(username)


def sign_out(settings: Settings, principal: Principal) -> None:
    """End every token of the caller's account (a development token has no account: nothing to end)."""
    with contextlib.suppress(UnknownAccount):
        _change(settings, principal.subject, {}, end_sessions=True)


def unlock(call: StaffCall, username: str) -> None:
    """A county_admin forgets the failed logins of an account, from every address."""
    roles.require_role(call.principal, Role.county_admin)
    _own_issuer_only(call.settings)
    username = username.strip().lower()
    if not USERNAME.fullmatch(username) or StaffStore(call.settings).get(username) is None:
        raise ApiError(404, "not_found", "找不到该账号")
    StaffStore(call.settings).clear_failures(username)
    logger.info("staff login unlocked", extra={"actor_role": call.principal.role.value})


def me(settings: Settings, headers: Mapping[str, str]) -> Principal:
    """Who the bearer token says the caller is (the console shows it)."""
    return auth.principal_from_headers(settings, headers)


def public_keys(settings: Settings) -> dict[str, Any]:
    """The own issuer's JWKS: the current and the previous public keys."""
    _own_issuer_only(settings)
    return auth.jwks(settings)
