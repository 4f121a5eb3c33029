"""Hotspots, their history and the index of them by status."""

from typing import Any

from shared.core.aws import client
from shared.core.dal.items import from_item, query, to_item, write_if
from shared.core.settings import Settings

# The one gsi2 partition listing every hotspot (apart from the cases' `STATUS#` partitions); a county has tens to
# hundreds of hotspots, and reports and detection read them all.
LISTING = "HOTSPOTS"


class HotspotStore:
    """Hotspots (shared/reporting/hotspots.py): one item each, listed through gsi2 in one partition (`HOTSPOTS`,
    sort key `<status>#<opened_at>#<id>`): every status in one Query, or one status by its prefix."""

    _KEYS = ("pk", "sk", "gsi2pk", "gsi2sk")

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    @staticmethod
    def _key(hotspot_id: str) -> dict[str, Any]:
        return to_item({"pk": f"HOTSPOT#{hotspot_id}", "sk": "HOTSPOT"})

    @staticmethod
    def _listing(status: str, opened_at: str, hotspot_id: str) -> dict[str, str]:
        return {"gsi2pk": LISTING, "gsi2sk": f"{status}#{opened_at}#{hotspot_id}"}

    def _values(self, item: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in item.items() if name not in self._KEYS}

    def get(self, hotspot_id: str) -> dict[str, Any] | None:
        response = client("dynamodb").get_item(TableName=self._table, Key=self._key(hotspot_id), ConsistentRead=True)
        item = response.get("Item")
        return self._values(from_item(item)) if item else None

    def by_status(self, status: str, opened_before: str | None = None) -> list[dict[str, Any]]:
        """Hotspots of one status, oldest first; with `opened_before` (an `opened_at` as stored) only those opened
        before it."""
        # `<status>#` sorts before every `<status>#<opened_at>#<id>`, and `<status>#<before>` after those opened
        # before it and before those opened at it or later (whose keys go on with `#<id>`).
        last = f"{status}#{opened_before}" if opened_before is not None else f"{status}#~"
        items = query(
            self._table,
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :pk AND gsi2sk BETWEEN :first AND :last",
            ExpressionAttributeValues=to_item({":pk": LISTING, ":first": f"{status}#", ":last": last}),
        )
        return [self._values(item) for item in items]

    def listed(self, opened_before: str | None = None) -> list[dict[str, Any]]:
        """Hotspots of every status in one Query (by status, then oldest first); with `opened_before` only those
        opened before it."""
        condition: dict[str, Any] = {}
        if opened_before is not None:
            condition = {
                "FilterExpression": "#opened < :before",
                "ExpressionAttributeNames": {"#opened": "opened_at"},
            }
        values = {":pk": LISTING, **({":before": opened_before} if opened_before is not None else {})}
        items = query(
            self._table,
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :pk",
            ExpressionAttributeValues=to_item(values),
            **condition,
        )
        return [self._values(item) for item in items]

    def move_listing(self, statuses: tuple[str, ...]) -> int:
        """Once after upgrading: move hotspots listed the earlier way (one gsi2 partition per status,
        `HOTSPOTS#<status>` / `<opened_at>#<id>`) to the one listing partition; how many moved. A hotspot a staff
        change moved meanwhile is left as it is (the update is conditional on the earlier key)."""
        moved = 0
        for status in statuses:
            earlier = f"HOTSPOTS#{status}"
            items = query(
                self._table,
                IndexName="gsi2",
                KeyConditionExpression="gsi2pk = :pk",
                ExpressionAttributeValues=to_item({":pk": earlier}),
            )
            for item in list(items):
                listing = self._listing(str(item["status"]), str(item["opened_at"]), str(item["hotspot_id"]))
                moved += write_if(
                    "update_item",
                    TableName=self._table,
                    Key=self._key(str(item["hotspot_id"])),
                    UpdateExpression="SET gsi2pk = :pk, gsi2sk = :sk",
                    ConditionExpression="gsi2pk = :earlier",
                    ExpressionAttributeValues=to_item(
                        {":pk": listing["gsi2pk"], ":sk": listing["gsi2sk"], ":earlier": earlier}
                    ),
                )
        return moved

    def open(self, values: dict[str, Any]) -> bool:
        """Store a new hotspot (`hotspot_id`, `status`, `opened_at` among its values); False when its id exists."""
        listing = self._listing(values["status"], values["opened_at"], values["hotspot_id"])
        item = {**values, "pk": f"HOTSPOT#{values['hotspot_id']}", "sk": "HOTSPOT", **listing}
        return write_if(
            "put_item", TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
        )

    def refresh(self, hotspot_id: str, values: dict[str, Any], statuses: tuple[str, ...]) -> bool:
        """Set fields of a hotspot (not its status) while its status is one of `statuses`; False otherwise."""
        wanted = {f":s{position}": status for position, status in enumerate(statuses)}
        condition = f"attribute_exists(pk) AND #status IN ({', '.join(wanted)})"
        return self._update(hotspot_id, values, condition, wanted)

    def change(
        self, hotspot_id: str, opened_at: str, version: int, values: dict[str, Any], entry: dict[str, Any]
    ) -> bool:
        """A staff change: set fields (a new `status` moves it to that list), append `entry` to its history and
        count the version up, guarded by the version read; False when the hotspot changed since."""
        values = {**values, "version": version + 1}
        if "status" in values:
            values.update(self._listing(values["status"], opened_at, hotspot_id))
        return self._update(hotspot_id, values, "version = :version", {":version": version}, entry)

    def _update(
        self,
        hotspot_id: str,
        values: dict[str, Any],
        condition: str,
        condition_values: dict[str, Any],
        entry: dict[str, Any] | None = None,
    ) -> bool:
        fields = list(values.items())
        names = {f"#n{position}": name for position, (name, _) in enumerate(fields)}
        assigned = {f":v{position}": value for position, (_, value) in enumerate(fields)}
        clauses = [f"#n{position} = :v{position}" for position in range(len(fields))]
        if entry is not None:
            clauses.append("history = list_append(if_not_exists(history, :empty), :entry)")
            assigned.update({":empty": [], ":entry": [entry]})
        if "#status" in condition:
            names["#status"] = "status"
        return write_if(
            "update_item",
            TableName=self._table,
            Key=self._key(hotspot_id),
            UpdateExpression="SET " + ", ".join(clauses),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item({**assigned, **condition_values}),
        )
