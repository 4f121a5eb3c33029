"""Staff accounts of the own token issuer."""

from typing import Any

from shared.core.aws import client
from shared.core.dal.items import from_item, to_item, write_if
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
