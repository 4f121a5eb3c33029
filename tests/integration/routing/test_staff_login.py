"""Staff login of the own token issuer, through the routing app's /auth routes (mapped at /cases/auth)."""

import base64
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from shared.core import auth
from shared.core.aws import client
from shared.core.errors import ApiError
from shared.core.settings import Settings
from shared.routing import staff

JSON = {"Content-Type": "application/json"}
PASSWORD = "执法监督-2026-password"


@pytest.fixture
def secret(aws: Settings) -> str:
    """An officer of the market regulator; returns the TOTP secret from the provisioning URI."""
    uri = staff.create_account(aws, "Wang.Li", "王莉", auth.Role.dept_officer, "SCJG", PASSWORD)
    return parse_qs(urlsplit(uri).query)["secret"][0]


def code(secret: str, at: datetime | None = None) -> str:
    return staff.hotp(base64.b32decode(secret), staff.totp_step(at or datetime.now(UTC)))


def other_code(secret: str) -> str:
    """A six-digit code that is none of the codes accepted now."""
    now = datetime.now(UTC)
    valid = {code(secret, now + timedelta(seconds=30 * offset)) for offset in (-1, 0, 1)}
    return next(candidate for candidate in ("000000", "111111", "222222", "333333") if candidate not in valid)


def login(http, username: str, password: str, totp: str):
    body = json.dumps({"username": username, "password": password, "totp": totp}).encode()
    response = http.post("/auth/login", headers=JSON, body=body)
    return response.status_code, json.loads(response.body)


def test_the_right_password_and_code_give_a_token_for_the_account(http, aws: Settings, secret: str) -> None:
    # when the officer logs in (the username in any case)
    status, body = login(http, "wang.li", PASSWORD, code(secret))
    # then a token comes back with its expiry, and says who she is
    assert status == 200
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC) + timedelta(hours=7)
    principal = auth.verify_token(aws, body["token"])
    assert (principal.subject, principal.name, principal.role, principal.department) == (
        "wang.li",
        "王莉",
        auth.Role.dept_officer,
        "SCJG",
    )
    # and /auth/me, given the token, answers the same
    me = http.get("/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and json.loads(me.body)["department"] == "SCJG"


def test_the_token_verifies_with_the_published_jwks_alone(http, secret: str) -> None:
    # given a token from login and the JWKS the service publishes
    token = login(http, "wang.li", PASSWORD, code(secret))[1]["token"]
    response = http.get("/auth/jwks.json")
    assert response.status_code == 200
    published = json.loads(response.body)["keys"]
    # then the key its kid names verifies it, as any other service (or API Gateway) would check it
    key = next(key for key in published if key["kid"] == jwt.get_unverified_header(token)["kid"])
    assert all("d" not in key for key in published)  # public keys only
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["ES256"], audience="hotspot-staff")
    assert claims["custom:role"] == "dept_officer"


def test_wrong_password_wrong_code_and_unknown_user_get_the_same_answer(http, secret: str) -> None:
    wrong_password = login(http, "wang.li", PASSWORD + "x", code(secret))
    wrong_code = login(http, "wang.li", PASSWORD, other_code(secret))
    unknown_user = login(http, "li.wang", PASSWORD, code(secret))
    assert wrong_password == wrong_code == unknown_user
    assert wrong_password[0] == 401 and wrong_password[1]["error"]["code"] == "login_failed"


def test_a_code_cannot_be_used_twice(http, secret: str) -> None:
    # given a login with the current code
    current = code(secret)
    assert login(http, "wang.li", PASSWORD, current)[0] == 200
    # then the same code is refused the second time
    status, body = login(http, "wang.li", PASSWORD, current)
    assert status == 401 and body["error"]["code"] == "login_failed"


def test_malformed_logins_are_4xx_and_no_password_is_stored_or_archived(http, aws: Settings, secret: str) -> None:
    assert http.post("/auth/login", headers={"Content-Type": "text/plain"}, body=b"x").status_code == 415
    assert http.post("/auth/login", headers=JSON, body=b"{").status_code == 422
    assert http.post("/auth/login", headers=JSON, body=b'{"username": "wang.li"}').status_code == 422
    # and the account's item holds a scrypt hash, never the password, and nothing went to the raw bucket
    item = json.dumps(client("dynamodb").scan(TableName=aws.cases_table)["Items"], ensure_ascii=False)
    assert "scrypt$" in item and PASSWORD not in item
    assert client("s3").list_objects_v2(Bucket=aws.raw_bucket).get("KeyCount", 0) == 0


def test_logins_are_rate_limited_per_username_and_per_ip(aws: Settings, secret: str) -> None:
    settings = aws.model_copy(update={"logins_per_user_per_hour": 3, "logins_per_ip_per_hour": 5})
    now = datetime.now(UTC)

    def attempt(username: str, password: str, ip: str) -> int:
        body = json.dumps({"username": username, "password": password, "totp": code(secret, now)}).encode()
        try:
            staff.login(settings, body, "application/json", ip, now)
        except ApiError as error:
            return error.status
        return 200

    # given three wrong passwords for one username
    assert [attempt("wang.li", "wrong", "10.0.0.1") for _ in range(3)] == [401, 401, 401]
    # then even the right password is refused for that username this hour, from any address
    assert attempt("wang.li", PASSWORD, "10.0.0.2") == 429
    # and one address that tries many usernames is stopped too (it has made 3 of its 5 attempts)
    assert [attempt(f"guess{n}", "wrong", "10.0.0.1") for n in range(3)] == [401, 401, 429]


def test_accounts_are_checked_when_created(aws: Settings, secret: str) -> None:
    with pytest.raises(staff.AccountExists):
        staff.create_account(aws, "wang.li", "王莉", auth.Role.dept_officer, "SCJG", PASSWORD)
    with pytest.raises(ValueError):
        staff.create_account(aws, "short.pw", "某人", auth.Role.auditor, None, "too short")
    with pytest.raises(ValueError):
        staff.create_account(aws, "no.dept", "某人", auth.Role.dept_head, None, PASSWORD)
    with pytest.raises(ValueError):
        staff.create_account(aws, "bad name!", "某人", auth.Role.auditor, None, PASSWORD)


def test_where_cognito_issues_tokens_there_is_no_login_and_no_jwks(aws: Settings) -> None:
    settings = aws.model_copy(update={"auth_jwks_url": "https://cognito-idp.example/jwks.json"})
    body = json.dumps({"username": "wang.li", "password": PASSWORD, "totp": "123456"}).encode()
    for call in (
        lambda: staff.login(settings, body, "application/json", "10.0.0.1"),
        lambda: staff.public_keys(settings),
    ):
        with pytest.raises(ApiError) as caught:
            call()
        assert caught.value.status == 404


# --- role x route matrix of the auth routes ---------------------------------------------------------------------

TOKENS = {
    "county_admin": (auth.Role.county_admin, None),
    "dept_head": (auth.Role.dept_head, "GAJ"),
    "dept_officer": (auth.Role.dept_officer, "SCJG"),
    "auditor": (auth.Role.auditor, None),
    "media": (auth.Role.media, None),
}


@pytest.mark.parametrize("caller", [*TOKENS, "missing", "expired", "forged"])
def test_auth_routes_by_caller(http, aws: Settings, caller: str) -> None:
    if caller in TOKENS:
        role, department = TOKENS[caller]
        headers = {"Authorization": f"Bearer {auth.issue_development_token(aws, role, department)}"}
    elif caller == "expired":
        stale = auth.issue_development_token(aws, auth.Role.county_admin, now=datetime.now(UTC) - timedelta(days=1))
        headers = {"Authorization": f"Bearer {stale}"}
    elif caller == "forged":
        token = auth.issue_development_token(aws, auth.Role.media)
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["custom:role"] = "county_admin"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        headers = {"Authorization": f"Bearer {header}.{forged}.{signature}"}
    else:
        headers = {}
    # /auth/me: every valid token, whatever its role; nothing else
    me = http.get("/auth/me", headers=headers)
    expected = {"missing": 401, "expired": 401, "forged": 401}.get(caller, 200)
    assert me.status_code == expected
    if expected == 200:
        assert json.loads(me.body)["role"] == caller
    # the JWKS and the login form are public: a token changes nothing
    assert http.get("/auth/jwks.json", headers=headers).status_code == 200
    assert login(http, "nobody", PASSWORD, "123456")[0] == 401
