"""What intake could not file, by month."""

from datetime import datetime
from typing import Any

from shared.core.aws import client
from shared.core.dal.items import from_item, query, to_item, transact
from shared.core.settings import Settings


class QuarantineStore:
    """Payloads that could not become complaints, kept for staff with the reason (month shards)."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    def add(
        self, received_at: datetime, reference: str, values: dict[str, Any], counters: list[dict[str, Any]]
    ) -> None:
        """An entry, with `counters` (the sender's rate-limit hits) in the same transaction if any: ConditionFailed,
        nothing written, when one of theirs fails (their positions counted from 1)."""
        item = {"pk": f"QUARANTINE#{received_at:%Y-%m}", "sk": f"{received_at.isoformat()}#{reference}", **values}
        put = {"TableName": self._table, "Item": to_item(item)}
        if counters:
            transact([{"Put": put}, *counters])
        else:
            client("dynamodb").put_item(**put)

    def mark_replayed(self, received_at: datetime, reference: str, tracking_no: str) -> None:
        """The complaint a replay of the entry's payload filed (`hotspot quarantine replay`)."""
        client("dynamodb").update_item(
            TableName=self._table,
            Key=to_item({"pk": f"QUARANTINE#{received_at:%Y-%m}", "sk": f"{received_at.isoformat()}#{reference}"}),
            UpdateExpression="SET replayed_as = :tracking_no",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item({":tracking_no": tracking_no}),
        )

    def page(self, month: str, after: str, limit: int) -> list[tuple[str, dict[str, Any]]]:
        """Up to `limit` entries of one month after the sort key `after` ("" from the start), oldest first, each
        with its sort key (the next page's `after`)."""
        response = client("dynamodb").query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk > :after",
            ExpressionAttributeValues=to_item({":pk": f"QUARANTINE#{month}", ":after": after}),
            Limit=limit,
        )
        items = [from_item(item) for item in response["Items"]]
        return [(item["sk"], {k: v for k, v in item.items() if k not in ("pk", "sk")}) for item in items]

    def month(self, month: str) -> list[dict[str, Any]]:
        """Entries of one month (`yyyy-mm`), oldest first."""
        items = query(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"QUARANTINE#{month}"}),
        )
        return [{k: v for k, v in item.items() if k not in ("pk", "sk")} for item in items]
