"""Staff accounts and login of the system's own token issuer (China regions, local stack).

A staff member logs in with username, password and a one-time code from an authenticator app (TOTP,
RFC 6238: HMAC-SHA1, 30-second steps, 6 digits, one step of clock drift either way, each step usable
once). Passwords are stored as scrypt hashes with a salt per account. Login attempts are rate-limited per
username and per client IP, and every failure gets the same answer, so that it does not tell whether the
username exists. On global AWS, Cognito does all of this and these routes answer 404.
"""

import base64
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

from shared.core import auth, errors, ratelimit, reference_data
from shared.core.auth import Principal, Role
from shared.core.dal.staff import StaffStore
from shared.core.errors import ApiError, from_validation_error
from shared.core.observability import logger
from shared.core.settings import Settings

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD_LENGTH = 12
# scrypt cost: 16 MiB and some 50 ms per hash, well within a Lambda of 256 MB.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
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
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    scheme, n, r, p, salt, digest = stored.split("$")
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
    )
    return hmac.compare_digest(actual, expected)


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
    """The time step whose code this is, within the allowed drift, or None."""
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
    totp_secret: str
    active: bool = True
    created_at: datetime


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
        totp_secret=secret,
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
    ratelimit.enforce(settings, "login-user", username, settings.logins_per_user_per_hour, 3600, now)
    store = StaffStore(settings)
    values: dict[str, Any] | None = store.get(username) if USERNAME.fullmatch(username) else None
    account = StaffAccount.model_validate(values) if values else None
    # The password is checked even for an unknown username, against a dummy hash: same answer, same time.
    password_ok = verify_password(request.password, account.password_hash if account else _dummy_hash())
    step = matching_step(account.totp_secret, request.totp.strip(), now) if account else None
    if account is None or not account.active or not password_ok or step is None:
        logger.info("staff login refused", extra={"code": "login_failed"})
        raise ApiError(401, "login_failed", "用户名、密码或动态验证码不正确")
    if not store.use_totp_step(username, step):  # a code seen before: perhaps watched over a shoulder
        logger.info("staff login refused", extra={"code": "totp_reused"})
        raise ApiError(401, "login_failed", "用户名、密码或动态验证码不正确")
    principal = Principal(subject=username, name=account.name, role=account.role, department=account.department)
    token, expires_at = auth.issue_token(settings, principal, settings.auth_token_seconds, now)
    logger.info("staff login", extra={"role": principal.role.value})
    return LoginAnswer(
        token=token, expires_at=expires_at, name=account.name, role=account.role, department=account.department
    )


def me(settings: Settings, headers: Mapping[str, str]) -> Principal:
    """Who the bearer token says the caller is (the console shows it)."""
    return auth.principal_from_headers(settings, headers)


def public_keys(settings: Settings) -> dict[str, Any]:
    """The own issuer's JWKS: the current and the previous public keys."""
    _own_issuer_only(settings)
    return auth.jwks(settings)
