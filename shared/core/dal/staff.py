"""Staff accounts of the own token issuer.

Keys (cases table): `STAFF#<username>` / `PROFILE` the account; `STAFF#<username>` / `FAIL#<client hash>` the failed
logins of that username from one client address (any username, existing or not).
"""

from datetime import datetime
from typing import Any

from shared.core.aws import client
from shared.core.dal.items import from_item, query, to_item, write_if
from shared.core.settings import Settings


class StaffStore:
    """Staff accounts of the system's own token issuer: password hash, TOTP secret, role and department."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    @staticmethod
    def _key(username: str) -> dict[str, Any]:
        return to_item({"pk": f"STAFF#{username}", "sk": "PROFILE"})

    def create(self, username: str, values: dict[str, Any]) -> bool:
        """Store a new account; False if the username is taken."""
        item = {**values, "pk": f"STAFF#{username}", "sk": "PROFILE"}
        return write_if(
            "put_item", TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
        )

    def get(self, username: str) -> dict[str, Any] | None:
        item = client("dynamodb").get_item(TableName=self._table, Key=self._key(username), ConsistentRead=True)
        values = from_item(item.get("Item", {}))
        return {k: v for k, v in values.items() if k not in ("pk", "sk")} or None

    def update(self, username: str, values: dict[str, Any], end_sessions: bool) -> bool:
        """Set `values` on an existing account, and with `end_sessions` invalidate every token issued so far (a
        token carries the generation it was issued in); False if there is no such account."""
        names = {f"#f{n}": name for n, name in enumerate(values)}
        updates = [f"#f{n} = :v{n}" for n in range(len(values))]
        expression = f"SET {', '.join(updates)}" if updates else ""
        if end_sessions:
            expression += " ADD token_generation :one"
        return write_if(
            "update_item",
            TableName=self._table,
            Key=self._key(username),
            UpdateExpression=expression.strip(),
            ConditionExpression="attribute_exists(pk)",
            **({"ExpressionAttributeNames": names} if names else {}),
            ExpressionAttributeValues=to_item(
                {
                    **{f":v{n}": value for n, value in enumerate(values.values())},
                    **({":one": 1} if end_sessions else {}),
                }
            ),
        )

    def failures(self, username: str, client_hash: str) -> tuple[int, datetime | None]:
        """Failed logins of the username from the client, and when the last one was."""
        key = to_item({"pk": f"STAFF#{username}", "sk": f"FAIL#{client_hash}"})
        item = from_item(client("dynamodb").get_item(TableName=self._table, Key=key).get("Item", {}))
        if not item:
            return 0, None
        return int(item["failures"]), datetime.fromisoformat(item["last_failure"])

    def record_failures(self, username: str, client_hash: str, failures: int, now: datetime) -> None:
        item = {"pk": f"STAFF#{username}", "sk": f"FAIL#{client_hash}", "failures": failures}
        item["last_failure"] = now.isoformat()
        client("dynamodb").put_item(TableName=self._table, Item=to_item(item))

    def clear_failures(self, username: str, client_hash: str | None = None) -> None:
        """Forget the failed logins of the username from one client, or from all."""
        hashes = (
            [client_hash]
            if client_hash
            else [
                item["sk"].removeprefix("FAIL#")
                for item in query(
                    self._table,
                    KeyConditionExpression="pk = :pk AND begins_with(sk, :fail)",
                    ExpressionAttributeValues=to_item({":pk": f"STAFF#{username}", ":fail": "FAIL#"}),
                )
            ]
        )
        for value in hashes:
            key = to_item({"pk": f"STAFF#{username}", "sk": f"FAIL#{value}"})
            client("dynamodb").delete_item(TableName=self._table, Key=key)

    def use_totp_step(self, username: str, step: int) -> bool:
        """Record a one-time code's time step as used; False if this or a later step was used already."""
        return write_if(
            "update_item",
            TableName=self._table,
            Key=self._key(username),
            UpdateExpression="SET last_totp_step = :step",
            ConditionExpression=(
                "attribute_exists(pk) AND (attribute_not_exists(last_totp_step) OR last_totp_step < :step)"
            ),
            ExpressionAttributeValues=to_item({":step": step}),
        )
