"""Secrets Manager access: mailbox credentials (IMAP poller, SMTP sender) and the staff token signing keys."""

import json
from typing import Any

from botocore.exceptions import ClientError

from shared.core.aws import client


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
