"""Typical cases prepared for publication, the public list, media follow-up notes."""

from typing import Any

from shared.core.aws import client
from shared.core.changes import CaseChange
from shared.core.dal.cases import CaseStore
from shared.core.dal.items import from_item, query, to_item
from shared.core.settings import Settings

# The public lists: published typical cases, and published answers to questions (咨询).
TYPICAL, ANSWERS = "PUBLISHED", "ANSWERS"


class PublicationStore:
    """Typical cases prepared for publication, the public list of published ones, and media follow-up notes."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table
        self._cases = CaseStore(settings)

    def get(self, tracking_no: str) -> dict[str, Any] | None:
        key = to_item({"pk": f"CASE#{tracking_no}", "sk": "PUBLICATION"})
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return {k: v for k, v in from_item(item).items() if k not in ("pk", "sk")} if item else None

    def save(
        self,
        change: CaseChange,
        publication: dict[str, Any],
        listed: dict[str, Any] | None = None,
        unlisted: str | None = None,
        public_list: str = TYPICAL,
    ) -> None:
        """The publication with its case's version bump and audit event, in one transaction guarded by the case
        version read; `listed` puts the public item (sk `<published_at>#<no>`) on `public_list` (TYPICAL or
        ANSWERS), `unlisted` deletes one by sk."""
        no = change[1].tracking_no
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item({**publication, "pk": f"CASE#{no}", "sk": "PUBLICATION"}),
                }
            }
        ]
        if listed is not None:
            item = {**listed, "pk": public_list, "sk": f"{listed['published_at']}#{no}"}
            writes.append({"Put": {"TableName": self._table, "Item": to_item(item)}})
        if unlisted is not None:
            writes.append({"Delete": {"TableName": self._table, "Key": to_item({"pk": public_list, "sk": unlisted})}})
        self._cases.transition_together([change], writes)

    def published(self, limit: int, with_tracking_no: bool = False, public_list: str = TYPICAL) -> list[dict[str, Any]]:
        """The newest published cases (or answers) first: one partition, the county publishes few. The public items
        name no case; staff's reports ask `with_tracking_no` for the tracking number kept in the sort key."""
        response = client("dynamodb").query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": public_list}),
            ScanIndexForward=False,
            Limit=limit,
        )
        found = []
        for item in map(from_item, response["Items"]):
            public = {k: v for k, v in item.items() if k not in ("pk", "sk")}
            found.append({**public, "tracking_no": item["sk"].rsplit("#", 1)[1]} if with_tracking_no else public)
        return found

    def add_note(self, tracking_no: str, note_id: str, values: dict[str, Any]) -> None:
        item = {**values, "pk": f"CASE#{tracking_no}", "sk": f"MEDIANOTE#{values['at']}#{note_id}", "id": note_id}
        client("dynamodb").put_item(TableName=self._table, Item=to_item(item))

    def notes(self, tracking_no: str) -> list[dict[str, Any]]:
        items = query(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": f"CASE#{tracking_no}", ":prefix": "MEDIANOTE#"}),
        )
        return [{k: v for k, v in item.items() if k not in ("pk", "sk")} for item in items]
