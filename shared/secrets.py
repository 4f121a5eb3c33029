"""Secrets Manager access: credentials of the mailboxes the IMAP poller and the SMTP sender use."""

import json
from typing import Any

from shared.aws import client


def get_json(name: str) -> dict[str, Any]:
    """The secret's value, a JSON object."""
    value: dict[str, Any] = json.loads(client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])
    return value
