"""Staff credentials of the own token issuer: scrypt password hashes and TOTP one-time codes (RFC 4226, 6238)."""

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.routing import staff


def test_a_password_hash_verifies_only_its_password_and_never_holds_it() -> None:
    # given a password hashed twice
    first, second = staff.hash_password("正确的密码 correct horse"), staff.hash_password("正确的密码 correct horse")
    # then each hash has its own salt, and the password is not in it
    assert first != second
    assert first.startswith("scrypt$") and "correct horse" not in first
    # and it verifies the password and nothing else
    assert staff.verify_password("正确的密码 correct horse", first)
    assert staff.verify_password("正确的密码 correct horse", second)
    assert not staff.verify_password("正确的密码 correct hors", first)
    assert not staff.verify_password("", first)


@pytest.mark.parametrize(
    ("counter", "code"),
    list(
        enumerate(["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"])
    ),
)
def test_hotp_matches_the_rfc_4226_test_values(counter: int, code: str) -> None:
    assert staff.hotp(b"12345678901234567890", counter) == code


SHA1_SEED = b"12345678901234567890"
SHA256_SEED = b"12345678901234567890123456789012"
SHA512_SEED = b"1234567890123456789012345678901234567890123456789012345678901234"


@pytest.mark.parametrize(
    ("unix_time", "digest", "seed", "code"),
    [
        (59, "sha1", SHA1_SEED, "94287082"),
        (1111111109, "sha1", SHA1_SEED, "07081804"),
        (1111111111, "sha1", SHA1_SEED, "14050471"),
        (1234567890, "sha1", SHA1_SEED, "89005924"),
        (2000000000, "sha1", SHA1_SEED, "69279037"),
        (20000000000, "sha1", SHA1_SEED, "65353130"),
        (59, "sha256", SHA256_SEED, "46119246"),
        (1111111109, "sha256", SHA256_SEED, "68084774"),
        (59, "sha512", SHA512_SEED, "90693936"),
        (1111111109, "sha512", SHA512_SEED, "25091201"),
    ],
)
def test_totp_matches_the_rfc_6238_test_vectors(unix_time: int, digest: str, seed: bytes, code: str) -> None:
    # given the RFC's time (8 digits, as the RFC's table has them)
    step = staff.totp_step(datetime.fromtimestamp(unix_time, UTC))
    # then the code is the RFC's
    assert staff.hotp(seed, step, digits=8, digest=digest) == code


def test_a_code_is_accepted_one_step_either_side_and_no_further() -> None:
    # given a secret and the codes of the steps around now
    secret = base64.b32encode(SHA1_SEED).decode()
    now = datetime.fromtimestamp(1111111111, UTC)
    step = staff.totp_step(now)
    codes = {offset: staff.hotp(SHA1_SEED, step + offset) for offset in (-2, -1, 0, 1, 2)}
    # then the current code and its neighbours match their own step
    for offset in (-1, 0, 1):
        assert staff.matching_step(secret, codes[offset], now) == step + offset
    # and codes two steps away, or made up, do not
    assert staff.matching_step(secret, codes[-2], now) is None
    assert staff.matching_step(secret, codes[2], now) is None
    assert staff.matching_step(secret, "000000" if codes[0] != "000000" else "111111", now) is None


def test_the_provisioning_uri_is_what_authenticator_apps_read() -> None:
    # given a new secret
    secret = staff.new_totp_secret()
    # when its URI is made
    uri = urlsplit(staff.provisioning_uri("wang.li", secret))
    # then it is an otpauth TOTP URI with the secret and the 30 s / 6 digit / SHA1 parameters
    query = parse_qs(uri.query)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert uri.path.endswith(":wang.li")
    assert query["secret"] == [secret] and len(base64.b32decode(secret)) == 20
    assert query["period"] == ["30"] and query["digits"] == ["6"] and query["algorithm"] == ["SHA1"]
