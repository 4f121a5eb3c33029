"""Records the county legal office enters, campaign material submissions and their reminders."""

from collections.abc import Sequence
from typing import Any

from shared.core.aws import client
from shared.core.dal.campaign import MATERIAL, CampaignStore, partition
from shared.core.dal.items import from_item, query, to_item, transact, write_if
from shared.core.settings import Settings


class RecordStore:
    """What the county legal office enters (lost lawsuits, accountability for wrong decisions), with an audit event
    per change, and the departments' campaign material submissions with the reminders sent about them."""

    _KEYS = ("pk", "sk", "gsi1pk", "gsi1sk")

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._table = settings.cases_table

    def _values(self, item: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in item.items() if name not in self._KEYS}

    @staticmethod
    def _key(record_id: str) -> dict[str, Any]:
        return to_item({"pk": f"RECORD#{record_id}", "sk": "RECORD"})

    def get(self, record_id: str) -> dict[str, Any] | None:
        item = client("dynamodb").get_item(TableName=self._table, Key=self._key(record_id), ConsistentRead=True)
        return self._values(from_item(item["Item"])) if "Item" in item else None

    def _event_put(self, event: dict[str, Any]) -> dict[str, Any]:
        item = {**event, "pk": f"RECORD#{event['record_id']}", "sk": f"EVENT#{event['at']}#{event['version']:04d}"}
        return {
            "Put": {"TableName": self._table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
        }

    def save(
        self,
        record: dict[str, Any],
        event: dict[str, Any],
        version_read: int | None,
        counted: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Put a record (`id`, `kind`, `date`, `version` among its values) with its audit event and the `counted`
        writes (the statistics counters it changes) in one transaction: new when `version_read` is None, else only
        if the stored one is still that version (ConditionFailed)."""
        item = {
            **record,
            "pk": f"RECORD#{record['id']}",
            "sk": "RECORD",
            "gsi1pk": f"RECORDS#{record['date'][:4]}",
            "gsi1sk": f"{record['date']}#{record['kind']}#{record['id']}",
        }
        guard: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if version_read is None
            else {
                "ConditionExpression": "version = :seen",
                "ExpressionAttributeValues": to_item({":seen": version_read}),
            }
        )
        put = {"Put": {"TableName": self._table, "Item": to_item(item), **guard}}
        transact([put, self._event_put(event), *counted])

    def delete(
        self,
        record_id: str,
        event: dict[str, Any],
        version_read: int,
        counted: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Delete a record, keeping its audit event, with the `counted` writes in the same transaction;
        ConditionFailed if it changed since it was read."""
        remove = {
            "Delete": {
                "TableName": self._table,
                "Key": self._key(record_id),
                "ConditionExpression": "version = :seen",
                "ExpressionAttributeValues": to_item({":seen": version_read}),
            }
        }
        transact([remove, self._event_put(event), *counted])

    def events(self, record_id: str) -> list[dict[str, Any]]:
        items = query(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": f"RECORD#{record_id}", ":prefix": "EVENT#"}),
        )
        return [self._values(item) for item in items]

    def between(self, first: str, last: str) -> list[dict[str, Any]]:
        """Records dated from `first` to `last` (ISO dates, inclusive), by date: one Query per calendar year."""
        found: list[dict[str, Any]] = []
        for year in range(int(first[:4]), int(last[:4]) + 1):
            found += query(
                self._table,
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :pk AND gsi1sk BETWEEN :first AND :last",
                ExpressionAttributeValues=to_item(
                    # `~` sorts after every character of a kind and an id: the last day is included whole.
                    {":pk": f"RECORDS#{year}", ":first": first, ":last": f"{last}#~"}
                ),
            )
        return [self._values(item) for item in found]

    # --- campaign materials ---

    def add_submission(self, campaign: str, values: dict[str, Any]) -> bool:
        """Record a submission (`department`, `material`, `upload_id` among its values) in the campaign partition
        (shared/core/dal/campaign.py); False if it is there."""
        sk = f"{MATERIAL}{values['department']}#{values['material']}#{values['upload_id']}"
        return write_if(
            "put_item",
            TableName=self._table,
            Item=to_item({**values, "pk": partition(campaign), "sk": sk}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def submission(self, campaign: str, department: str, material: str, upload_id: str) -> dict[str, Any] | None:
        key = to_item({"pk": partition(campaign), "sk": f"{MATERIAL}{department}#{material}#{upload_id}"})
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return self._values(from_item(item)) if item else None

    def submissions(self, campaign: str, department: str | None = None) -> list[dict[str, Any]]:
        """The submissions of a campaign (its partition: a county has tens of departments), or of one department."""
        prefix = MATERIAL + (f"{department}#" if department is not None else "")
        return [self._values(item) for item in CampaignStore(self._settings).items(campaign, prefix)]

    @staticmethod
    def _reminder_item(campaign: str, day: str, department: str, material: str) -> dict[str, Any]:
        return {"pk": f"MATREMIND#{campaign}#{day}", "sk": f"{department}#{material}"}

    def claim_reminder(self, campaign: str, day: str, department: str, material: str) -> bool:
        """Note the day's reminder about a material; False when it was noted already (sent today)."""
        item = self._reminder_item(campaign, day, department, material)
        return write_if(
            "put_item", TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
        )

    def release_reminder(self, campaign: str, day: str, department: str, material: str) -> None:
        key = self._reminder_item(campaign, day, department, material)
        client("dynamodb").delete_item(TableName=self._table, Key=to_item(key))
