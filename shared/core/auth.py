"""Staff identity: JWT bearer tokens, roles and department scope, checked in the logic of every staff route.

One verification path whatever the issuer: the token's `kid` picks a public key from the issuer's JWKS,
then signature, issuer, audience, lifetime and claims are checked here.
- Global AWS: a Cognito user pool issues the tokens; its JWKS is fetched over HTTPS (`auth_jwks_url`).
  ID tokens carry `aud` = the app client id, access tokens `client_id`; the role and the department are the
  user's custom attributes `custom:role` and `custom:department` (ID tokens carry them).
- China regions (no Cognito user pools) and the local stack: the system is its own issuer. Staff log in
  (shared/routing/staff.py); tokens are ID tokens shaped like Cognito's, signed ES256 with the current key kept in
  Secrets Manager. The JWKS lists the current and the previous public keys, so that after a rotation the
  tokens signed with the previous key stay valid until they expire; a key dropped from the secret stops
  verifying once the caches (`auth_keys_cache_seconds`) have been refreshed.

Tokens are never logged. A bad token is a 401, never a 5xx. jwt and cryptography are imported inside the
functions that need them: they cost cold-start time, and only staff routes use them.
"""

import base64
import json
import secrets as random
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.core import secrets as secret_store
from shared.core.errors import ApiError
from shared.core.roles import DEPARTMENT_ROLES, Principal, Role
from shared.core.settings import Settings

ALGORITHM = "ES256"
# Cognito signs RS256; the own issuer ES256. Anything else (none, HS256 with a public key as secret) is refused.
ALGORITHMS = frozenset({"ES256", "RS256"})
# A token whose key id is not in the cached JWKS makes us fetch the JWKS again, at most this often.
UNKNOWN_KID_REFRESH_SECONDS = 10.0
JWKS_TIMEOUT_SECONDS = 5.0
# After a failed JWKS fetch, requests are answered 503 at once for this long instead of each waiting for the
# timeout again: an identity-provider outage must not add seconds to every request.
JWKS_FAILURE_SECONDS = 30.0
_jwks_failed_at: dict[str, float] = {}
# The own issuer's claim: the account's token generation when the token was issued. Deactivating the account,
# resetting its password or signing out raises the generation, which ends every token issued before.
GENERATION_CLAIM = "hotspot:gen"
# The `token_use` of an ID token (Cognito's word for the token kind; the own issuer issues ID tokens too).
ID_KIND = "id"


def _unauthenticated() -> ApiError:
    return ApiError(401, "unauthenticated", "请先登录")


def _invalid() -> ApiError:
    return ApiError(401, "token_invalid", "登录凭证无效，请重新登录")


def _expired() -> ApiError:
    return ApiError(401, "token_expired", "登录已过期，请重新登录")


def _ended() -> ApiError:
    return ApiError(401, "session_ended", "登录已失效，请重新登录")


# --- verification ---------------------------------------------------------------------------------------------


class _Claims(BaseModel):
    """The claims we read, named as Cognito names them."""

    model_config = ConfigDict(extra="ignore")

    iss: str
    sub: str = Field(min_length=1)
    exp: float
    iat: float
    nbf: float | None = None
    token_use: Literal["id", "access"]
    aud: str | list[str] | None = None
    client_id: str | None = None
    role: Role = Field(alias="custom:role")
    department: str | None = Field(default=None, alias="custom:department")
    name: str | None = None
    username: str | None = Field(default=None, alias="cognito:username")
    generation: int | None = Field(default=None, alias="hotspot:gen")


def principal_from_headers(settings: Settings, headers: Mapping[str, str], now: datetime | None = None) -> Principal:
    """The caller of a staff route, from `Authorization: Bearer <token>`; ApiError 401 otherwise."""
    # Chalice's headers are case-insensitive; a plain dict (tests, other callers) may not be.
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if not value:
        raise _unauthenticated()
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated()
    return verify_token(settings, token.strip(), now)


def verify_token(settings: Settings, token: str, now: datetime | None = None) -> Principal:
    import jwt

    now = now or datetime.now(UTC)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _invalid() from None
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ALGORITHMS or not isinstance(kid, str):
        raise _invalid()
    jwk = _public_key(settings, kid)
    # The key decides the algorithm: a token cannot pick another one for a known key.
    if jwk is None or jwk.get("alg", algorithm) != algorithm:
        raise _invalid()
    try:
        key = jwt.PyJWK(jwk, algorithm=algorithm).key
        # Issuer, audience and times are checked below, against `now` and with the leeway of the settings.
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
        )
        parsed = _Claims.model_validate(claims)
    except (jwt.PyJWTError, ValidationError):
        raise _invalid() from None
    _check_claims(settings, parsed, now)
    department = parsed.department if parsed.role in DEPARTMENT_ROLES else None
    try:
        principal = Principal(
            subject=parsed.sub,
            name=parsed.name or parsed.username or parsed.sub,
            role=parsed.role,
            department=department,
        )
    except ValidationError:
        raise _invalid() from None
    # Tokens from a login carry the account's generation; development tokens (made with the signing key itself,
    # for the local stack and tests) have no account and no generation.
    if parsed.generation is not None:
        _check_session(settings, principal, parsed.generation)
    return principal


def _check_session(settings: Settings, principal: Principal, generation: int) -> None:
    """The account still exists, is active, has the token's role and department and its generation."""
    from shared.core.dal.staff import StaffStore

    def load() -> dict[str, Any] | None:
        return StaffStore(settings).get(principal.subject)

    account = _cached(f"session:{principal.subject}", settings.auth_session_cache_seconds, load)
    if (
        account is None
        or not account.get("active", True)
        or int(account.get("token_generation", 0)) != generation
        or account.get("role") != principal.role.value
        or account.get("department") != principal.department
    ):
        raise _ended()


def forget_session(subject: str) -> None:
    """Drop the cached account state of `subject`, after changing it, so this instance sees the change at once."""
    with _cache_lock:
        _cache.pop(f"session:{subject}", None)


def _check_claims(settings: Settings, claims: _Claims, now: datetime) -> None:
    if claims.iss != settings.auth_issuer:
        raise _invalid()
    if claims.token_use == ID_KIND:
        audiences = [claims.aud] if isinstance(claims.aud, str) else claims.aud or []
        if settings.auth_audience not in audiences:
            raise _invalid()
    elif claims.client_id != settings.auth_audience:
        raise _invalid()
    moment, leeway = now.timestamp(), settings.auth_leeway_seconds
    if claims.iat > moment + leeway or (claims.nbf is not None and claims.nbf > moment + leeway):
        raise _invalid()
    if claims.exp <= moment - leeway:
        raise _expired()
    # An external issuer's token cannot be ended by the account's generation: its age is bounded instead.
    if settings.auth_jwks_url and claims.iat <= moment - leeway - settings.auth_external_token_max_seconds:
        raise _expired()


# --- keys -----------------------------------------------------------------------------------------------------

T = TypeVar("T")
_cache: dict[str, tuple[float, Any]] = {}
_cache_lock = threading.Lock()  # the local stack serves requests on threads


def _cached(key: str, max_age: float, load: Callable[[], T]) -> T:
    with _cache_lock:
        entry = _cache.get(key)
        if entry is not None and time.monotonic() - entry[0] < max_age:
            value: T = entry[1]
            return value
    value = load()
    with _cache_lock:
        _cache[key] = (time.monotonic(), value)
    return value


def clear_key_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _jwks_failed_at.clear()


def _public_key(settings: Settings, kid: str) -> dict[str, Any] | None:
    source = settings.auth_jwks_url or f"secret:{settings.auth_signing_secret}"

    def load() -> dict[str, dict[str, Any]]:
        document = _fetch_jwks(settings.auth_jwks_url) if settings.auth_jwks_url else jwks(settings)
        return {key["kid"]: key for key in document.get("keys", []) if isinstance(key, dict) and "kid" in key}

    keys = _cached(f"jwks:{source}", settings.auth_keys_cache_seconds, load)
    if kid not in keys:  # perhaps the keys were rotated since they were cached
        keys = _cached(f"jwks:{source}", UNKNOWN_KID_REFRESH_SECONDS, load)
    return keys.get(kid)


def _fetch_jwks(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    # Keys must come over TLS; plain HTTP only from this machine (tests serve a JWKS on loopback).
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")):
        raise RuntimeError("auth_jwks_url must be an https URL")
    unavailable = ApiError(503, "auth_unavailable", "暂时无法验证登录，请稍后再试")
    with _cache_lock:
        failed_at = _jwks_failed_at.get(url)
    if failed_at is not None and time.monotonic() - failed_at < JWKS_FAILURE_SECONDS:
        raise unavailable
    # Loopback never goes through a proxy a developer may have configured.
    opener = urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if parts.scheme == "http" else []))
    try:
        with opener.open(url, timeout=JWKS_TIMEOUT_SECONDS) as response:  # nosec B310
            document: dict[str, Any] = json.loads(response.read())
    except (OSError, ValueError):
        with _cache_lock:
            _jwks_failed_at[url] = time.monotonic()
        raise unavailable from None
    with _cache_lock:
        _jwks_failed_at.pop(url, None)
    return document


class SigningKey(BaseModel):
    kid: str
    private_key_pem: str


class SigningKeys(BaseModel):
    """The own issuer's secret: tokens are signed with `current`; `previous` still verify."""

    current: SigningKey
    previous: list[SigningKey] = []
    # The AES-256-GCM key (base64) that encrypts staff accounts' TOTP secrets; kept across rotations, since the
    # stored secrets were encrypted with it. A secret from before it existed gets one at the next rotation.
    totp_key: str | None = None


def own_issuer(settings: Settings) -> bool:
    return not settings.auth_jwks_url


def _signing_keys(settings: Settings) -> SigningKeys:
    def load() -> SigningKeys:
        return SigningKeys.model_validate(secret_store.get_json(settings.auth_signing_secret))

    return _cached(f"secret:{settings.auth_signing_secret}", settings.auth_keys_cache_seconds, load)


def jwks(settings: Settings) -> dict[str, Any]:
    """The own issuer's public keys, current first, as published at /cases/auth/jwks.json."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from jwt.algorithms import ECAlgorithm

    keys = _signing_keys(settings)
    published = []
    for signing_key in [keys.current, *keys.previous]:
        private_key = load_pem_private_key(signing_key.private_key_pem.encode(), password=None)
        if not isinstance(private_key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"signing key {signing_key.kid} is not an EC key")
        public = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        published.append({**public, "kid": signing_key.kid, "alg": ALGORITHM, "use": "sig"})
    return {"keys": published}


def new_signing_key(now: datetime | None = None) -> SigningKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    now = now or datetime.now(UTC)
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SigningKey(kid=f"{now:%Y%m%d}-{random.token_hex(4)}", private_key_pem=pem.decode())


def rotate_signing_key(settings: Settings, now: datetime | None = None) -> SigningKeys:
    """A new current key; the current one becomes the previous one and any older key is dropped.

    Rotate at most once per token lifetime (`auth_token_seconds`), or tokens signed with the dropped key
    stop working before they expire.
    """
    stored = (
        SigningKeys.model_validate(found) if (found := secret_store.find_json(settings.auth_signing_secret)) else None
    )
    keys = SigningKeys(
        current=new_signing_key(now),
        previous=[stored.current] if stored else [],
        totp_key=(stored.totp_key if stored else None) or base64.b64encode(random.token_bytes(32)).decode(),
    )
    secret_store.put_json(settings.auth_signing_secret, keys.model_dump())
    clear_key_cache()
    return keys


def _totp_cipher(settings: Settings) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = _signing_keys(settings).totp_key
    if key is None:
        raise RuntimeError("the signing-key secret has no TOTP key yet: run `hotspot keys rotate`")
    return AESGCM(base64.b64decode(key))


def encrypt_totp_secret(settings: Settings, username: str, secret: str) -> str:
    """A TOTP secret as stored: AES-GCM, bound to its account (the username is the associated data)."""
    nonce = random.token_bytes(12)
    sealed = _totp_cipher(settings).encrypt(nonce, secret.encode(), username.encode())
    return "v1:" + base64.b64encode(nonce + sealed).decode()


def decrypt_totp_secret(settings: Settings, username: str, stored: str) -> str:
    raw = base64.b64decode(stored.removeprefix("v1:"))
    return str(_totp_cipher(settings).decrypt(raw[:12], raw[12:], username.encode()).decode())


def ensure_signing_key(settings: Settings) -> None:
    """Generate the first key if the secret does not exist yet (local stack, a new deployment), or the TOTP key if
    the secret predates it."""
    if own_issuer(settings):
        stored = secret_store.find_json(settings.auth_signing_secret)
        if stored is None or not stored.get("totp_key"):
            rotate_signing_key(settings)


# --- issuing --------------------------------------------------------------------------------------------------


def issue_token(
    settings: Settings,
    principal: Principal,
    ttl_seconds: int,
    now: datetime | None = None,
    generation: int | None = None,
) -> tuple[str, datetime]:
    """A token of the own issuer for `principal`, and when it expires; `generation` ties it to a staff account."""
    import jwt

    if not own_issuer(settings):
        raise RuntimeError("tokens come from the configured issuer (auth_jwks_url), not from this system")
    now = now or datetime.now(UTC)
    expires_at = now + timedelta(seconds=ttl_seconds)
    claims: dict[str, Any] = {
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "sub": principal.subject,
        "name": principal.name,
        "token_use": ID_KIND,
        "custom:role": principal.role.value,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": random.token_hex(16),
    }
    if principal.department:
        claims["custom:department"] = principal.department
    if generation is not None:
        claims[GENERATION_CLAIM] = generation
    key = _signing_keys(settings).current
    token = jwt.encode(claims, key.private_key_pem, algorithm=ALGORITHM, headers={"kid": key.kid})
    return token, expires_at


def issue_development_token(
    settings: Settings,
    role: Role,
    department: str | None = None,
    name: str = "开发人员",
    ttl_seconds: int = 8 * 3600,
    now: datetime | None = None,
) -> str:
    """A token for a made-up staff member (local stack, tests); ValidationError for a wrong role/department."""
    subject = f"dev-{role.value}" + (f"-{department}" if department else "")
    principal = Principal(subject=subject, name=name, role=role, department=department)
    return issue_token(settings, principal, ttl_seconds, now)[0]
