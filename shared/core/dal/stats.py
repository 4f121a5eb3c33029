"""The statistics counters, each case's counted version, and the hotspot clusters."""

import json
import zlib
from typing import Any

from shared.core.aws import client
from shared.core.dal.items import batch_get, from_item, query, to_item, write_if
from shared.core.models import Contribution
from shared.core.settings import Settings

# Each department's counters of a period are spread over this many items (sk `DEPT#<code>#<shard>`, the shard
# fixed by the tracking number), so that concurrent consumers counting cases of one department do not all
# update one item: DynamoDB cancels concurrent transactions on an item. Readers sum the shards. Raising it is
# safe (readers query the partition, or ask for every shard below it); lowering it would hide the upper shards.
COUNTER_SHARDS = 8


def counter_shard(tracking_no: str) -> int:
    return zlib.crc32(tracking_no.encode()) % COUNTER_SHARDS


def _department_of(sort_key: str) -> str:
    """`DEPT#<code>#<shard>` -> code (and `DEPT#<code>`, as a rebuilt or earlier item is keyed, -> code)."""
    return sort_key.removeprefix("DEPT#").partition("#")[0]


def _add(rows: dict[str, dict[str, int]], key: str, counters: dict[str, int]) -> None:
    row = rows.setdefault(key, {})
    for name, amount in counters.items():
        row[name] = row.get(name, 0) + amount


class StatsStore:
    """Aggregate counters, hotspot cluster days and each case's contribution to them (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    # --- the contribution of a case: the marker of the version counted ---

    @staticmethod
    def _contribution_key(tracking_no: str) -> dict[str, Any]:
        return {"pk": f"CASE#{tracking_no}", "sk": "STATS"}

    def _contribution_item(self, contribution: Contribution) -> dict[str, Any]:
        counts = json.dumps([[*key, amount] for key, amount in sorted(contribution.counts.items())])
        return to_item(
            {
                **self._contribution_key(contribution.tracking_no),
                "version": contribution.version,
                # JSON text: one attribute rather than a hundred nested ones, read and written whole anyway. The
                # counts, zlib-packed: a case's repeat the same names for each of its periods, and the item is
                # written with every count, a write unit per KB (about 1.3 KB of text, a few hundred bytes packed).
                "counts": zlib.compress(counts.encode()),
                "clusters": json.dumps(sorted(contribution.clusters), ensure_ascii=False),
            }
        )

    @staticmethod
    def _contribution_of(values: dict[str, Any]) -> Contribution:
        # Text as contributions were stored before their counts were packed; a later count rewrites it packed.
        packed = values["counts"]
        counts = json.loads(packed if isinstance(packed, str) else zlib.decompress(packed.value))
        return Contribution(
            tracking_no=str(values["pk"]).removeprefix("CASE#"),
            version=int(values["version"]),
            counts={(p, d, n): amount for p, d, n, amount in counts},
            clusters=frozenset((day, key) for day, key in json.loads(values["clusters"])),
        )

    def contribution(self, tracking_no: str) -> Contribution | None:
        key = to_item(self._contribution_key(tracking_no))
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return self._contribution_of(from_item(item)) if item else None

    def contributions(self, numbers: list[str]) -> dict[str, Contribution]:
        """The stored contributions of many cases (BatchGetItem, 100 keys a request); absent ones left out."""
        keys = [to_item(self._contribution_key(no)) for no in numbers]
        contributions = (self._contribution_of(item) for item in batch_get(self._table, keys, ConsistentRead=True))
        return {contribution.tracking_no: contribution for contribution in contributions}

    def apply(self, old: Contribution | None, new: Contribution) -> bool:
        """Count `new` instead of `old` (the stored contribution read, None if none): one transaction of the
        contribution put, guarded by the version read, and the ADDs of the differences. False, with nothing
        changed, when the stored contribution is no longer the one read (another consumer counted first)."""
        deltas: dict[tuple[str, str], dict[str, int]] = {}
        for sign, contribution in ((-1, old), (1, new)):
            for (period, department, name), amount in (contribution.counts if contribution else {}).items():
                row = deltas.setdefault((period, department), {})
                row[name] = row.get(name, 0) + sign * amount
        guard = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if old is None
            else {
                "ConditionExpression": "version = :seen",
                "ExpressionAttributeValues": to_item({":seen": old.version}),
            }
        )
        writes: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": self._contribution_item(new), **guard}}
        ]
        shard = counter_shard(new.tracking_no)
        for (period, department), row in sorted(deltas.items()):
            changed = sorted((name, delta) for name, delta in row.items() if delta)
            if changed:
                writes.append({"Update": self._add_counters(period, f"{department}#{shard}", changed)})
        before = old.clusters if old else frozenset()
        for cluster in sorted(new.clusters - before):
            writes.append({"Update": self._move_case(cluster, new.tracking_no, joins=True)})
        for cluster in sorted(before - new.clusters):
            writes.append({"Update": self._move_case(cluster, new.tracking_no, joins=False)})
        # A case touches at most ~5 periods x 3 departments and 4 clusters: far below the 100 items allowed.
        return write_if("transact_write_items", TransactItems=writes)

    def counter_writes(self, deltas: dict[tuple[str, str, str], int], shard_of: str) -> list[dict[str, Any]]:
        """The transaction's Update entries that ADD (period, department, counter) -> amount to the counter items,
        on the shard `shard_of` (a tracking number, a record id) falls in; amounts of 0 left out."""
        rows: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for (period, department, name), delta in sorted(deltas.items()):
            if delta:
                rows.setdefault((period, department), []).append((name, delta))
        shard = counter_shard(shard_of)
        return [
            {"Update": self._add_counters(period, f"{department}#{shard}", changed)}
            for (period, department), changed in rows.items()
        ]

    def _add_counters(self, period: str, shard_key: str, deltas: list[tuple[str, int]]) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": to_item({"pk": f"STATS#{period}", "sk": f"DEPT#{shard_key}"}),
            "UpdateExpression": "ADD " + ", ".join(f"#c{index} :c{index}" for index in range(len(deltas))),
            "ExpressionAttributeNames": {f"#c{index}": name for index, (name, _) in enumerate(deltas)},
            "ExpressionAttributeValues": to_item({f":c{index}": delta for index, (_, delta) in enumerate(deltas)}),
        }

    def _move_case(self, cluster: tuple[str, str], tracking_no: str, joins: bool) -> dict[str, Any]:
        day, key = cluster
        return {
            "TableName": self._table,
            "Key": to_item({"pk": f"CLUSTER#{day}", "sk": key}),
            "UpdateExpression": "ADD #count :one, #cases :case" if joins else "ADD #count :one DELETE #cases :case",
            "ExpressionAttributeNames": {"#count": "count", "#cases": "cases"},
            "ExpressionAttributeValues": to_item({":one": 1 if joins else -1, ":case": {tracking_no}}),
        }

    # --- reading ---

    def period_rows(self, period_key: str) -> dict[str, dict[str, int]]:
        """Department code -> counter -> amount, of one period (one Query, the shards summed)."""
        items = query(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"STATS#{period_key}"}),
        )
        rows: dict[str, dict[str, int]] = {}
        for item in items:
            _add(rows, _department_of(str(item["sk"])), self._counters(item))
        return rows

    def department_periods(
        self, department: str, period_keys: list[str], counters: tuple[str, ...] = ()
    ) -> dict[str, dict[str, int]]:
        """Period key -> counter -> amount of one department: every shard of each period (and the unsharded item
        a rebuild writes), summed; BatchGetItem, 100 keys a request."""
        found: dict[str, dict[str, int]] = {}
        shards = ["", *(f"#{shard}" for shard in range(COUNTER_SHARDS))]
        all_keys = [
            {"pk": f"STATS#{key}", "sk": f"DEPT#{department}{shard}"} for key in period_keys for shard in shards
        ]
        for item in batch_get(self._table, [to_item(key) for key in all_keys], **self._projection(counters)):
            _add(found, str(item["pk"]).removeprefix("STATS#"), self._counters(item))
        return found

    @staticmethod
    def _projection(counters: tuple[str, ...]) -> dict[str, Any]:
        # Counter names hold colons (`cat:penalty`) and may be reserved words: always through placeholders.
        if not counters:
            return {}
        names = {"#pk": "pk", "#sk": "sk", **{f"#c{index}": name for index, name in enumerate(counters)}}
        return {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}

    @staticmethod
    def _counters(item: dict[str, Any]) -> dict[str, int]:
        return {name: int(value) for name, value in item.items() if name not in ("pk", "sk")}

    def clusters(self, day: str) -> dict[str, tuple[int, set[str]]]:
        """Cluster key -> (count, tracking numbers) of one county day (one Query)."""
        items = query(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"CLUSTER#{day}"}),
        )
        return {str(item["sk"]): (int(item.get("count", 0)), set(item.get("cases", set()))) for item in items}

    # --- rebuild (hotspot rebuild-stats): replace what differs from the recount ---

    def put_row(self, period_key: str, department: str, counters: dict[str, int]) -> None:
        """Replace a department's counters of a period by `counters`: written whole to the unsharded item, every
        shard deleted (live counting then adds to the shards, and readers sum them all)."""
        key = {"pk": f"STATS#{period_key}", "sk": f"DEPT#{department}"}
        if counters:
            client("dynamodb").put_item(TableName=self._table, Item=to_item({**counters, **key}))
        else:
            client("dynamodb").delete_item(TableName=self._table, Key=to_item(key))
        for shard in range(COUNTER_SHARDS):
            shard_key = {**key, "sk": f"DEPT#{department}#{shard}"}
            client("dynamodb").delete_item(TableName=self._table, Key=to_item(shard_key))

    def put_cluster(self, day: str, cluster_key: str, cases: set[str]) -> None:
        """Replace a cluster item; one without cases is deleted."""
        key = {"pk": f"CLUSTER#{day}", "sk": cluster_key}
        if cases:
            item = to_item({**key, "count": len(cases), "cases": cases})
            client("dynamodb").put_item(TableName=self._table, Item=item)
        else:
            client("dynamodb").delete_item(TableName=self._table, Key=to_item(key))

    def put_contribution(self, contribution: Contribution) -> None:
        client("dynamodb").put_item(TableName=self._table, Item=self._contribution_item(contribution))
