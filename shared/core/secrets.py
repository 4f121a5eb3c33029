"""Secrets Manager access: the secret settings (shared/core/settings.py), mailbox credentials (IMAP poller, SMTP
sender) and the staff token signing keys."""

import json
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from shared.core.aws import client
from shared.core.observability import logger


def get_json(name: str) -> dict[str, Any]:
    """The secret's value, a JSON object."""
    value: dict[str, Any] = json.loads(client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])
    return value


def find_json(name: str) -> dict[str, Any] | None:
    """The secret's value, or None when there is no such secret."""
    try:
        return get_json(name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


_strings: dict[str, tuple[float, str]] = {}
_strings_lock = threading.Lock()


def cached_string(name: str, max_age_seconds: float) -> str | None:
    """The secret's string, read at most once per max_age_seconds; None when it cannot be read (absent, not
    allowed): the caller decides what that means. A failure is not cached, so the next call tries again."""
    now = time.monotonic()
    with _strings_lock:
        cached = _strings.get(name)
    if cached and now - cached[0] < max_age_seconds:
        return cached[1]
    try:
        value = str(client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])
    except ClientError as error:
        logger.error("secret unreadable", extra={"secret": name, "error": error.response["Error"]["Code"]})
        return None
    with _strings_lock:
        _strings[name] = (now, value)
    return value


def forget_cached() -> None:
    """Drop the cached values (tests; moto's secrets do not outlive a test)."""
    with _strings_lock:
        _strings.clear()


def put_json(name: str, value: dict[str, Any]) -> None:
    """Store a new version of the secret, creating the secret the first time."""
    secretsmanager = client("secretsmanager")
    text = json.dumps(value)
    try:
        secretsmanager.put_secret_value(SecretId=name, SecretString=text)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        secretsmanager.create_secret(Name=name, SecretString=text)
