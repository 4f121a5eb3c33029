"""Staff tokens: the own issuer's keys in Secrets Manager (moto), and a Cognito-style issuer's JWKS on loopback."""

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.core import auth, roles, secrets
from shared.core.auth import Principal, Role
from shared.core.errors import ApiError
from shared.core.settings import Settings

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def claims(settings: Settings, **changes: Any) -> dict[str, Any]:
    """What the own issuer puts in a token, with changes (None removes a claim)."""
    values: dict[str, Any] = {
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "sub": "wang.li",
        "name": "王莉",
        "token_use": "id",
        "custom:role": "dept_officer",
        "custom:department": "SCJG",
        "iat": int(NOW.timestamp()),
        "nbf": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(hours=8)).timestamp()),
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def signing_keys(settings: Settings) -> auth.SigningKeys:
    return auth.SigningKeys.model_validate(secrets.get_json(settings.auth_signing_secret))


def sign(values: dict[str, Any], key: auth.SigningKey) -> str:
    return jwt.encode(values, key.private_key_pem, algorithm="ES256", headers={"kid": key.kid})


def verify(settings: Settings, token: str, now: datetime = NOW) -> Principal:
    return auth.principal_from_headers(settings, {"Authorization": f"Bearer {token}"}, now)


def refused(settings: Settings, token: str, now: datetime = NOW) -> str:
    """The error code of a refused token; always a 401."""
    with pytest.raises(ApiError) as caught:
        verify(settings, token, now)
    assert caught.value.status == 401
    return caught.value.code


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_valid_token_names_the_staff_member_role_and_department(aws: Settings) -> None:
    # given a token of the own issuer for an officer of the market regulator
    token = sign(claims(aws), signing_keys(aws).current)
    # when it is verified
    principal = verify(aws, token)
    # then it says who is calling
    assert principal == Principal(subject="wang.li", name="王莉", role=Role.dept_officer, department="SCJG")
    # and the Authorization header is found whatever its case
    assert auth.principal_from_headers(aws, {"authorization": f"bearer {token}"}, NOW) == principal


def test_a_development_token_verifies_with_the_role_it_was_made_for(aws: Settings) -> None:
    token = auth.issue_development_token(aws, Role.dept_head, "GAJ", name="李队长", now=NOW)
    principal = verify(aws, token)
    assert (principal.role, principal.department, principal.name) == (Role.dept_head, "GAJ", "李队长")
    # and a county-wide role has no department
    assert verify(aws, auth.issue_development_token(aws, Role.auditor, now=NOW)).department is None


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "unauthenticated"),
        ({"Authorization": ""}, "unauthenticated"),
        ({"Authorization": "Basic d2FuZzpzZWNyZXQ="}, "unauthenticated"),
        ({"Authorization": "Bearer "}, "unauthenticated"),
        ({"Authorization": "Bearer not.a.token"}, "token_invalid"),
        ({"Authorization": "Bearer abc"}, "token_invalid"),
    ],
)
def test_missing_or_malformed_credentials_are_a_401(aws: Settings, headers: dict[str, str], code: str) -> None:
    with pytest.raises(ApiError) as caught:
        auth.principal_from_headers(aws, headers, NOW)
    assert (caught.value.status, caught.value.code) == (401, code)
    assert caught.value.message  # a Chinese message for the console


def test_an_expired_token_is_refused_after_the_leeway(aws: Settings) -> None:
    # given a token that expired at NOW
    token = sign(claims(aws, exp=int(NOW.timestamp())), signing_keys(aws).current)
    # then within the leeway for clock skew it still passes, and after it it is refused as expired
    assert verify(aws, token, NOW + timedelta(seconds=aws.auth_leeway_seconds - 5)).subject == "wang.li"
    assert refused(aws, token, NOW + timedelta(seconds=aws.auth_leeway_seconds + 1)) == "token_expired"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_a_token_not_yet_valid_is_refused(aws: Settings, claim: str) -> None:
    # given a token valid only from an hour from now
    later = int((NOW + timedelta(hours=1)).timestamp())
    token = sign(claims(aws, **{claim: later}), signing_keys(aws).current)
    # then it is refused now, and accepted once its time has come
    assert refused(aws, token) == "token_invalid"
    assert verify(aws, token, NOW + timedelta(hours=1)).subject == "wang.li"


def test_a_forged_signature_is_refused(aws: Settings) -> None:
    # given a token signed by a key that is not the issuer's, under the issuer's key id
    current = signing_keys(aws).current
    stranger = auth.SigningKey(kid=current.kid, private_key_pem=auth.new_signing_key().private_key_pem)
    assert refused(aws, sign(claims(aws), stranger)) == "token_invalid"
    # and a genuine token whose payload was changed to another role
    header, _, signature = sign(claims(aws), current).split(".")
    payload = b64url(json.dumps(claims(aws, **{"custom:role": "county_admin"})).encode())
    assert refused(aws, f"{header}.{payload}.{signature}") == "token_invalid"


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://evil.example"},
        {"aud": "another-app"},
        {"aud": None},
        {"token_use": "access"},  # an access token must name our client in client_id
        {"token_use": None},
        {"sub": None},
        {"exp": None},
        {"custom:role": None},
        {"custom:role": "superuser"},
        {"custom:department": None},  # a department role without its department
        {"custom:department": "NOSUCH"},
    ],
)
def test_tokens_with_wrong_or_missing_claims_are_refused(aws: Settings, changes: dict[str, Any]) -> None:
    token = sign(claims(aws, **changes), signing_keys(aws).current)
    assert refused(aws, token) == "token_invalid"


def test_the_algorithm_none_is_refused(aws: Settings) -> None:
    # given an unsigned token naming the issuer's key
    kid = signing_keys(aws).current.kid
    token = jwt.encode(claims(aws, **{"custom:role": "county_admin"}), None, algorithm="none", headers={"kid": kid})
    # then it is refused
    assert refused(aws, token) == "token_invalid"


def test_hs256_with_the_public_key_as_secret_is_refused(aws: Settings) -> None:
    # given a token "signed" with HMAC, the issuer's published public key (PEM) used as the HMAC secret
    current = signing_keys(aws).current
    private_key = serialization.load_pem_private_key(current.private_key_pem.encode(), password=None)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": current.kid}).encode())
    payload = b64url(json.dumps(claims(aws, **{"custom:role": "county_admin"})).encode())
    signature = b64url(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    # then it is refused
    assert refused(aws, f"{header}.{payload}.{signature}") == "token_invalid"


def test_an_unknown_key_id_is_refused(aws: Settings) -> None:
    unknown = auth.new_signing_key()
    assert refused(aws, sign(claims(aws), unknown)) == "token_invalid"


def test_after_a_rotation_the_previous_key_still_verifies_and_a_dropped_key_does_not(aws: Settings) -> None:
    # given a token signed with the first key
    first = signing_keys(aws).current
    old_token = sign(claims(aws), first)
    # when the key is rotated
    rotated = auth.rotate_signing_key(aws)
    # then the JWKS publishes the new key first and the previous one after it
    assert [key["kid"] for key in auth.jwks(aws)["keys"]] == [rotated.current.kid, first.kid]
    # and tokens of both keys verify; new tokens are signed with the new key
    new_token = auth.issue_development_token(aws, Role.county_admin, now=NOW)
    assert jwt.get_unverified_header(new_token)["kid"] == rotated.current.kid
    assert verify(aws, old_token).subject == "wang.li"
    assert verify(aws, new_token).role == Role.county_admin
    # when it is rotated again, the first key is dropped (once caches are refreshed, here at once)
    auth.rotate_signing_key(aws)
    # then the first key's tokens are refused, the second key's still verify
    assert refused(aws, old_token) == "token_invalid"
    assert verify(aws, new_token).role == Role.county_admin


# --- a Cognito-style issuer: RS256 keys published as a JWKS over HTTP ------------------------------------------

POOL_ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool"
CLIENT_ID = "4example0client0id"


class JwksServer:
    """Serves a JWKS on loopback, as Cognito serves `<issuer>/.well-known/jwks.json`, counting requests."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.requests = 0
        self.status = 200  # set to 5xx to play an outage
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> "JwksServer":
        self._thread.start()
        return self

    def __exit__(self, *args: Any) -> None:
        self._http.shutdown()
        self._http.server_close()


def rsa_key() -> tuple[rsa.RSAPrivateKey, dict[str, Any]]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return private_key, {**public, "kid": "cognito-key-1", "alg": "RS256", "use": "sig"}


@pytest.fixture
def cognito() -> Iterator[tuple[Settings, rsa.RSAPrivateKey, JwksServer]]:
    auth.clear_key_cache()
    private_key, public = rsa_key()
    with JwksServer([public]) as server:
        settings = Settings(auth_issuer=POOL_ISSUER, auth_audience=CLIENT_ID, auth_jwks_url=server.url)
        yield settings, private_key, server
    auth.clear_key_cache()


def cognito_token(private_key: rsa.RSAPrivateKey, kid: str = "cognito-key-1", **changes: Any) -> str:
    values: dict[str, Any] = {
        "iss": POOL_ISSUER,
        "aud": CLIENT_ID,
        "sub": "0f6c2b9e-5b1a-4c1e-9d7a-3a1f2e4b5c6d",
        "cognito:username": "zhao.gang",
        "token_use": "id",
        "custom:role": "county_admin",
        "auth_time": int(NOW.timestamp()),
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
    }
    values.update(changes)
    values = {name: value for name, value in values.items() if value is not None}
    return jwt.encode(values, private_key, algorithm="RS256", headers={"kid": kid})


def test_a_cognito_id_token_verifies_against_the_pools_jwks(cognito) -> None:
    settings, private_key, server = cognito
    # given a Cognito ID token with the role and department as custom attributes
    token = cognito_token(private_key, **{"custom:role": "dept_head", "custom:department": "ZHZF"})
    # when it is verified twice
    first, second = verify(settings, token), verify(settings, token)
    # then the caller is the pool's user, named by the username (no name attribute set)
    assert (
        first
        == second
        == Principal(
            subject="0f6c2b9e-5b1a-4c1e-9d7a-3a1f2e4b5c6d", name="zhao.gang", role=Role.dept_head, department="ZHZF"
        )
    )
    # and the JWKS was fetched once, then cached
    assert server.requests == 1


def test_an_external_token_is_refused_past_the_maximum_age_whatever_its_expiry(cognito) -> None:
    settings, private_key, _ = cognito
    # given a token of the external issuer valid for a day (the pool or the OIDC provider set a long expiry)
    token = cognito_token(private_key, exp=int((NOW + timedelta(days=1)).timestamp()))
    limit = timedelta(seconds=settings.auth_external_token_max_seconds + settings.auth_leeway_seconds)
    # when it is used within the maximum age / then it verifies; when used later / then it is expired
    assert verify(settings, token, NOW + limit - timedelta(seconds=1)).role == Role.county_admin
    assert refused(settings, token, NOW + limit) == "token_expired"


def test_a_cognito_access_token_is_checked_by_client_id(cognito) -> None:
    settings, private_key, _ = cognito
    # given access tokens (no aud; client_id instead), one for our app client, one for another
    ours = cognito_token(private_key, token_use="access", aud=None, client_id=CLIENT_ID)
    theirs = cognito_token(private_key, token_use="access", aud=None, client_id="another-client")
    # then only ours verifies
    assert verify(settings, ours).role == Role.county_admin
    assert refused(settings, theirs) == "token_invalid"


def test_cognito_tokens_of_another_pool_or_key_are_refused(cognito) -> None:
    settings, private_key, server = cognito
    other_key, _ = rsa_key()
    assert refused(settings, cognito_token(private_key, iss=POOL_ISSUER + "x")) == "token_invalid"
    assert refused(settings, cognito_token(other_key)) == "token_invalid"
    # and made-up key ids are refused without making us fetch the JWKS again and again
    for kid in ("unknown-1", "unknown-2", "unknown-3"):
        assert refused(settings, cognito_token(other_key, kid=kid)) == "token_invalid"
    assert server.requests == 1


def test_a_key_the_pool_adds_is_found_by_fetching_the_jwks_again(cognito, monkeypatch) -> None:
    settings, private_key, server = cognito
    # given the pool's JWKS cached
    assert verify(settings, cognito_token(private_key)).role == Role.county_admin
    # when the pool publishes a new key and signs with it, once the refresh pause has passed
    added_key, added_public = rsa_key()
    server.keys.append({**added_public, "kid": "cognito-key-2"})
    monkeypatch.setattr(auth, "UNKNOWN_KID_REFRESH_SECONDS", 0.0)
    # then its token verifies, the JWKS having been fetched once more
    assert verify(settings, cognito_token(added_key, kid="cognito-key-2")).role == Role.county_admin
    assert server.requests == 2


def test_a_failing_jwks_is_not_fetched_again_for_every_request(cognito) -> None:
    settings, private_key, server = cognito
    # given the identity provider's JWKS failing
    server.status = 503
    # when three requests come with tokens
    statuses = []
    for _ in range(3):
        try:
            auth.verify_token(settings, cognito_token(private_key), NOW)
        except ApiError as error:
            statuses.append(error.status)
    # then each is a 503, and the JWKS was asked once: the others were answered from the remembered failure
    assert statuses == [503, 503, 503] and server.requests == 1
    # and once the failure is forgotten (here: the caches cleared), the JWKS is asked again and the token verifies
    server.status = 200
    auth.clear_key_cache()
    assert auth.verify_token(settings, cognito_token(private_key), NOW).role == Role.county_admin


def test_own_issuer_tokens_are_not_accepted_where_cognito_issues_them(aws: Settings, cognito) -> None:
    settings, _, _ = cognito
    # given a token signed by the own issuer's key, with Cognito's issuer and audience
    token = sign(claims(aws, iss=POOL_ISSUER, aud=CLIENT_ID), signing_keys(aws).current)
    # then it is refused: the key is not in the pool's JWKS
    assert refused(settings, token) == "token_invalid"


def test_a_department_role_must_name_a_department_and_others_must_not() -> None:
    with pytest.raises(ValueError):
        Principal(subject="x", name="x", role=Role.dept_officer)
    with pytest.raises(ValueError):
        Principal(subject="x", name="x", role=Role.media, department="GAJ")
    with pytest.raises(ValueError):
        Principal(subject="x", name="x", role=Role.dept_head, department="NOSUCH")


@pytest.mark.parametrize(
    ("principal", "department", "allowed"),
    [
        (Principal(subject="a", name="a", role=Role.county_admin), "GAJ", True),
        (Principal(subject="a", name="a", role=Role.auditor), "GAJ", True),
        (Principal(subject="a", name="a", role=Role.dept_officer, department="GAJ"), "GAJ", True),
        (Principal(subject="a", name="a", role=Role.dept_head, department="GAJ"), "GAJ", True),
        (Principal(subject="a", name="a", role=Role.dept_officer, department="GAJ"), "SCJG", False),
        (Principal(subject="a", name="a", role=Role.dept_head, department="GAJ"), None, False),
        (Principal(subject="a", name="a", role=Role.media), "GAJ", False),
    ],
)
def test_department_scope(principal: Principal, department: str | None, allowed: bool) -> None:
    if allowed:
        roles.require_department(principal, department)
        return
    with pytest.raises(ApiError) as caught:
        roles.require_department(principal, department)
    assert (caught.value.status, caught.value.code) == (403, "forbidden")


def test_require_role() -> None:
    officer = Principal(subject="a", name="a", role=Role.dept_officer, department="GAJ")
    roles.require_role(officer, Role.dept_head, Role.dept_officer)
    with pytest.raises(ApiError) as caught:
        roles.require_role(officer, Role.county_admin)
    assert (caught.value.status, caught.value.code) == (403, "forbidden")


def test_the_signing_key_is_ecdsa_p256(aws: Settings) -> None:
    # the secret holds a PEM private key on P-256, the curve ES256 needs
    key = serialization.load_pem_private_key(signing_keys(aws).current.private_key_pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
