"""Staff login of the own token issuer, through the routing app's /auth routes (mapped at /cases/auth)."""

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from infra import cli
from shared.core import auth, staff_pages
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


def attempt(settings: Settings, username: str, password: str, ip: str, totp: str, now: datetime) -> int:
    body = json.dumps({"username": username, "password": password, "totp": totp}).encode()
    try:
        staff.login(settings, body, "application/json", ip, now)
    except ApiError as error:
        return error.status
    return 200


def test_failures_delay_that_user_from_that_address_only_and_an_admin_can_unlock(
    http, aws: Settings, secret: str
) -> None:
    settings = aws.model_copy(update={"login_free_failures": 3, "logins_per_ip_per_hour": 1000})
    now = datetime.now(UTC)
    # given three wrong passwords for one username from one address
    assert [attempt(settings, "wang.li", "wrong", "10.0.0.1", code(secret, now), now) for _ in range(3)] == [401] * 3
    # then even the right password waits there, while the real user elsewhere signs in at once
    assert attempt(settings, "wang.li", PASSWORD, "10.0.0.1", code(secret, now), now) == 429
    assert attempt(settings, "wang.li", PASSWORD, "10.0.0.2", code(secret, now), now) == 200
    # and the wait grows: after it has passed once, the next failure waits twice as long
    later = now + timedelta(seconds=31)
    assert attempt(settings, "wang.li", "wrong", "10.0.0.1", code(secret, later), later) == 401
    assert attempt(settings, "wang.li", "wrong", "10.0.0.1", "000000", later + timedelta(seconds=45)) == 429
    # and an unknown username is counted the same way (the wait tells nothing about who exists)
    assert [attempt(settings, "li.wang", "wrong", "10.0.0.1", "000000", now) for _ in range(4)] == [401] * 3 + [429]
    # when a county_admin unlocks the account (an officer may not)
    admin = auth.issue_development_token(aws, auth.Role.county_admin)
    officer = auth.issue_development_token(aws, auth.Role.dept_officer, "SCJG")
    refused = http.post("/auth/accounts/wang.li/unlock", headers={"Authorization": f"Bearer {officer}"})
    assert refused.status_code == 403
    unlocked = http.post("/auth/accounts/wang.li/unlock", headers={"Authorization": f"Bearer {admin}"})
    assert unlocked.status_code == 204
    # then the user signs in from the delayed address with the next code
    step_later = later + timedelta(seconds=60)
    assert attempt(settings, "wang.li", PASSWORD, "10.0.0.1", code(secret, step_later), step_later) == 200


def test_an_address_that_tries_many_usernames_is_rate_limited(aws: Settings, secret: str) -> None:
    settings = aws.model_copy(update={"logins_per_ip_per_hour": 3})
    now = datetime.now(UTC)
    # given an address guessing usernames; then its fourth attempt within the hour is refused
    assert [attempt(settings, f"guess{n}", "wrong", "10.0.0.9", "000000", now) for n in range(4)] == [401] * 3 + [429]


@pytest.mark.parametrize("totp", ["１２３４５６", "١٢٣٤٥٦", "12345６", "12 345", "1234567"])
def test_a_code_of_other_than_six_ascii_digits_is_the_same_401_for_any_user(http, secret: str, totp: str) -> None:
    # when the real user and an unknown one send full-width, Arabic-Indic or malformed digits
    real = login(http, "wang.li", PASSWORD, totp)
    unknown = login(http, "li.wang", PASSWORD, totp)
    # then both get the same 401, never a 500
    assert real == unknown and real[0] == 401 and real[1]["error"]["code"] == "login_failed"


def test_signing_out_deactivating_resetting_or_changing_the_role_ends_tokens_at_once(
    http, aws: Settings, secret: str
) -> None:
    def me(token: str) -> tuple[int, str | None]:
        """The token as bearer token; and as the console's session it must fare the same (signed in, or sent to
        the login page with the cookie cleared)."""
        response = http.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        page = http.get("/console", headers={"Cookie": f"{staff_pages.SESSION_COOKIE}={token}"})
        signed_in = page.status_code == 200
        assert signed_in == (response.status_code == 200), page.status_code
        assert signed_in or page.headers["Location"].endswith("/console/login"), page.headers
        return response.status_code, json.loads(response.body).get("error", {}).get("code")

    def fresh_login(at: datetime, password: str = PASSWORD) -> str:
        body = json.dumps({"username": "wang.li", "password": password, "totp": code(secret, at)}).encode()
        return staff.login(aws, body, "application/json", "10.0.0.3", at).token

    # each login a time step later than the one before (a code is used once), none of them in the future
    moments = iter(datetime.now(UTC) - timedelta(seconds=30 * back) for back in range(5, -1, -1))
    # given a token from a login, working
    first = fresh_login(next(moments))
    assert me(first) == (200, None)
    # when the console signs out: then that token ends, and every other token of the account with it
    second_device = fresh_login(next(moments))
    cookie = {"Cookie": f"{staff_pages.SESSION_COOKIE}={first}", "Content-Type": "application/x-www-form-urlencoded"}
    body = f"csrf={staff_pages.csrf_token(first)}".encode()
    assert http.post("/console/logout", headers=cookie, body=body).status_code == 303
    assert me(first) == (401, "session_ended") and me(second_device) == (401, "session_ended")
    # when the account is deactivated: its token ends at once, and it cannot log in
    token = fresh_login(next(moments))
    assert me(token) == (200, None)
    assert cli.main(["staff", "deactivate", "wang.li"]) == 0
    assert me(token) == (401, "session_ended")
    at = next(moments)
    assert attempt(aws, "wang.li", PASSWORD, "10.0.0.4", code(secret, at), at) == 401
    # and reactivating does not bring the old token back
    assert cli.main(["staff", "reactivate", "wang.li"]) == 0
    assert me(token) == (401, "session_ended")
    # when the password is reset: the token from before ends
    token = fresh_login(at)
    staff.reset_password(aws, "wang.li", PASSWORD + "-new")
    assert me(token) == (401, "session_ended")
    # when the role is changed in the account: the token that says the old role ends
    token = fresh_login(next(moments), PASSWORD + "-new")
    key = {"pk": {"S": "STAFF#wang.li"}, "sk": {"S": "PROFILE"}}
    client("dynamodb").update_item(
        TableName=aws.cases_table,
        Key=key,
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "role"},
        ExpressionAttributeValues={":r": {"S": "dept_head"}},
    )
    auth.clear_key_cache()  # another instance, which reads the account afresh
    assert me(token) == (401, "session_ended")


def test_stored_credentials_are_upgraded_at_login(http, aws: Settings) -> None:
    # given an account stored before this review: a cheap scrypt hash and a plain TOTP secret
    secret = staff.new_totp_secret()
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    old_hash = f"scrypt${2**14}$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    item = {"pk": "STAFF#zhao.min", "sk": "PROFILE", "username": "zhao.min", "name": "赵敏", "role": "auditor"}
    item |= {"password_hash": old_hash, "totp_secret": secret, "created_at": "2026-01-01T00:00:00+00:00"}
    client("dynamodb").put_item(TableName=aws.cases_table, Item={k: {"S": v} for k, v in item.items()})
    # when it logs in
    assert login(http, "zhao.min", PASSWORD, code(secret))[0] == 200
    # then its hash has today's cost and its TOTP secret is stored encrypted, no longer readable in the table
    stored = staff.StaffStore(aws).get("zhao.min") or {}
    assert stored["password_hash"].startswith(f"scrypt${2**17}$8$1$") and not staff.needs_rehash(
        stored["password_hash"]
    )
    assert stored["totp_secret"].startswith("v1:") and secret not in json.dumps(stored, default=str)
    assert staff.verify_password(PASSWORD, stored["password_hash"])
    # and the next code still signs in
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert login(http, "zhao.min", PASSWORD, code(secret, later))[0] == 200
