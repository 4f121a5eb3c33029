"""DynamoDB access: the only module that talks to the tables.

Cases table (single table, keys `pk`/`sk`, every index projects all attributes):

| item / access pattern                         | key                                                       |
|-----------------------------------------------|-----------------------------------------------------------|
| case by id = by tracking number               | pk `CASE#<no>`, sk `CASE`                                 |
| complainant of a case (personal data, apart)  | pk `CASE#<no>`, sk `COMPLAINANT`                          |
| audit events of a case, in order              | pk `CASE#<no>`, sk `EVENT#<version:08>`                   |
| audit event changing nothing (reveal, relay)  | pk `CASE#<no>`, sk `EVENT#<version:08>#<at>#<id>`         |
| notifications already sent for a case         | pk `CASE#<no>`, sk `NOTICE#<notification id>`             |
| a notice to the complainant, its delivery     | pk `CASE#<no>`, sk `NOTICE#COMPLAINANT#<id>#<sms or email>`|
| a department's cases by status, by due time   | gsi1: `DEPT#<code>#<status>` / `<due_at or received>#<no>`|
| county-wide cases by status, by receipt time  | gsi2: `STATUS#<status>` / `<received_at>#<no>`            |
| cases due before a time (sharded by UTC day)  | gsi3: `DUE#<yyyy-mm-dd>` / `<due_at>#<no>`               |
| cases by complainant (keyed hash of contact)  | gsi4: `CONTACT#<hash>` / `<received_at>#<no>`             |
| quarantined payloads, by month, in order      | pk `QUARANTINE#<yyyy-mm>`, sk `<received_at>#<raw ref>`   |
| IMAP poller position in a mailbox             | pk `MAILBOX#<name>`, sk `STATE` (UIDVALIDITY, last UID)  |
| staff account (own token issuer only)         | pk `STAFF#<username>`, sk `PROFILE`                       |
| publication of a typical case (draft..public) | pk `CASE#<no>`, sk `PUBLICATION`                          |
| media follow-up notes on a case, in order     | pk `CASE#<no>`, sk `MEDIANOTE#<at>#<id>`                  |
| published typical cases, newest first (public)| pk `PUBLISHED`, sk `<published_at>#<no>` (redacted only)  |
| cases whose running deadline is provisional   | gsi4: `PROVISIONAL#<UTC year of due_at>` / `<due_at>#<no>`|
| messages a change must still send (outbox)    | pk `CASE#<no>`, sk `OUTBOX#<version:08>`                  |
| outbox items by age, to sweep                 | gsi3: `OUTBOX#<shard 0-7>` / `<created_at>#<no>#<version>`|
| hotspot (shared/reporting/hotspots.py), its history    | pk `HOTSPOT#<id>`, sk `HOTSPOT`                           |
| hotspots by status (open ones), by opening   | gsi2: `HOTSPOTS#<status>` / `<opened_at>#<id>`            |
| statistics counters of a period, by department| pk `STATS#<period key>`, sk `DEPT#<code>` (a number each) |
| hotspot cluster of a county day (count, cases)| pk `CLUSTER#<yyyy-mm-dd>`, sk `<cluster key>`             |
| what a case counts for now (its version)      | pk `CASE#<no>`, sk `STATS`                                |
| record FZB entered (lost lawsuit, accountability)| pk `RECORD#<id>`, sk `RECORD`                          |
| changes of such a record, in order (audit)    | pk `RECORD#<id>`, sk `EVENT#<at>#<version:04>`            |
| records of a year, by date (reports, lists)   | gsi1: `RECORDS#<yyyy>` / `<date>#<kind>#<id>`             |
| campaign material submissions, by department  | pk `MATERIALS#<campaign>`, sk `<dept>#<material>#<upload id>` |
| material reminder of a day (sent once)        | pk `MATREMIND#<campaign>#<yyyy-mm-dd>`, sk `<dept>#<material>` |

gsi3 is sparse: its keys are set only while a deadline runs (`due_at`, of kind `due_kind`), and on outbox items.
gsi4 keys are on the complainant item, and on a case item only while its running deadline is provisional (a
year without official calendar data): the calendar's yearly file is few and far between, so rather than a fifth
index (or a Scan when it arrives) the case item borrows gsi4, which it does not use otherwise; its partitions
`PROVISIONAL#<year>` never meet the `CONTACT#` ones. The scheduled run reads the partitions of the years that now
have data (shared/routing/provisional.py); the key goes when the case item is next put without the flag. The outbox
items borrow gsi3 the same way, spread over eight partitions by tracking number since every staff action writes
one; each lives only until its messages are sent, so the sweeper reads nearly empty partitions.
Hotspot items borrow gsi2 (partitions `HOTSPOTS#<status>`, apart from the cases' `STATUS#` ones): a county has
tens of hotspots, so one partition per status is enough. A hotspot's id is `<window>d-<cluster digest>-<generation>`
(generation: 1, then one more for each flare after a resolved one), so that two detection runs that both see a
cluster fire write the same id and the conditional put lets one of them open it.

Statistics (StatsStore, shared/reporting/stats.py) are counted exactly once per case version: the `STATS` item of a case
holds the version it was last counted at and what that version counted for (`counts`: JSON of [period, department,
counter, amount] lists; `clusters`: JSON of [day, cluster key] lists). Counting a newer version is ONE transaction: the
put of the new `STATS` item, on condition that the stored one is still the version read (or absent), with an
`ADD` of the difference on every counter item and cluster item it touches (negative amounts take away; the
cluster's `cases` string set gets `ADD` or `DELETE`). A redelivered, duplicated or older event finds the stored
version up to date and changes nothing; of two consumers racing, one transaction fails its condition. Period
keys are those of shared/reporting/periods.py; reading a report is one Query per period, whatever the number of cases.
Records (RecordStore, shared/reporting/records.py) borrow gsi1 (partitions `RECORDS#<year of the record's date>`, apart
from the cases' `DEPT#` ones): the records of a period are one Query per calendar year it spans, and an edit of
a record's date moves only its index keys, never its id.

Idempotency table: `key` -> stored answer, expiring through the `expires_at` TTL attribute. Rate-limit
counters live there too (`rate:<scope>:<window start>:<hashed subject>`), expiring the same way.
"""

import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from shared.core.aws import client
from shared.core.models import AuditEvent, Case, Complainant, Contribution, Status
from shared.core.settings import Settings

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# Notices to the complainant, apart from the deadline notices' `NOTICE#<message id>#<phone hash>` markers.
_NOTICE_PREFIX = "NOTICE#COMPLAINANT#"


class ConditionFailed(Exception):
    """A conditional write lost: the item exists already or changed since it was read."""


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(_decimals(value)) for name, value in values.items() if value is not None}


def _decimals(value: Any) -> Any:
    # DynamoDB numbers are Decimals; floats are refused by the serializer.
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _decimals(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_decimals(inner) for inner in value]
    return value


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


def _is_condition_failure(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons) or not reasons
    return False


def _query(table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    paginator = client("dynamodb").get_paginator("query")
    for page in paginator.paginate(TableName=table, **kwargs):
        for item in page["Items"]:
            yield _from_item(item)


def _write_if(operation: str, **request: Any) -> bool:
    """A conditional write; False, with nothing written, when its condition does not hold."""
    try:
        getattr(client("dynamodb"), operation)(**request)
    except ClientError as error:
        if _is_condition_failure(error):
            return False
        raise
    return True


def case_key(tracking_no: str) -> dict[str, Any]:
    return _to_item({"pk": f"CASE#{tracking_no}", "sk": "CASE"})


def _case_item(case: Case) -> dict[str, Any]:
    values = _dump(case)
    values.update(pk=f"CASE#{case.tracking_no}", sk="CASE")
    values.update(gsi2pk=f"STATUS#{case.status}", gsi2sk=f"{values['received_at']}#{case.tracking_no}")
    if case.department:
        order = values["due_at"] or values["received_at"]
        values.update(gsi1pk=f"DEPT#{case.department}#{case.status}", gsi1sk=f"{order}#{case.tracking_no}")
    if case.due_at:
        # The workflow clears due_at when no deadline runs any more, which drops the case from the due index.
        values.update(gsi3pk=f"DUE#{due_shard(case.due_at)}", gsi3sk=f"{values['due_at']}#{case.tracking_no}")
        if case.deadline_provisional:
            # Recomputed once the year's calendar arrives (shared/routing/provisional.py); a new put drops the key.
            values.update(gsi4pk=provisional_partition(case.due_at.astimezone(UTC).year), gsi4sk=values["gsi3sk"])
    return _to_item(values)


def provisional_partition(year: int) -> str:
    """The gsi4 partition of the cases whose provisional deadline is due in a year (UTC)."""
    return f"PROVISIONAL#{year}"


# Outbox items are spread over this many gsi3 partitions (by tracking number); the sweeper reads each.
OUTBOX_SHARDS = 8


def due_shard(moment: datetime) -> str:
    """The gsi3 partition of a deadline: its UTC day, so that no one partition holds every case."""
    return moment.astimezone(UTC).date().isoformat()


def _event_item(event: AuditEvent) -> dict[str, Any]:
    values = _dump(event)
    values.update(pk=f"CASE#{event.tracking_no}", sk=f"EVENT#{event.version:08d}")
    return _to_item(values)


class CaseStore:
    """Cases, their complainants and their audit events."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    def create(self, case: Case, complainant: Complainant | None, event: AuditEvent, contact_hash: str | None) -> None:
        """Store a new case with its first audit event; ConditionFailed if the tracking number is taken."""
        writes = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _case_item(case),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": self._table, "Item": _event_item(event)}},
        ]
        if complainant is not None:
            values = _dump(complainant)
            values.update(pk=f"CASE#{case.tracking_no}", sk="COMPLAINANT")
            if contact_hash:
                values.update(
                    gsi4pk=f"CONTACT#{contact_hash}", gsi4sk=f"{_dump(case)['received_at']}#{case.tracking_no}"
                )
            writes.append({"Put": {"TableName": self._table, "Item": _to_item(values)}})
        self._transact(writes)

    def get(self, tracking_no: str) -> Case | None:
        response = client("dynamodb").get_item(TableName=self._table, Key=case_key(tracking_no), ConsistentRead=True)
        item = response.get("Item")
        return Case.model_validate(_from_item(item)) if item else None

    def transition(self, before: Case, after: Case, event: AuditEvent) -> None:
        """Replace the case and append its audit event in one transaction, guarded by the version read."""
        self.transition_together([(before, after, event)])

    def transition_together(
        self, changes: list[tuple[Case, Case, AuditEvent]], extra: list[dict[str, Any]] | None = None
    ) -> None:
        """Several cases (e.g. both sides of a merge) and their audit events in one transaction: all or none.
        `extra`: further transaction writes of the same change (e.g. a publication, PublicationStore)."""
        writes: list[dict[str, Any]] = list(extra or [])
        for before, after, event in changes:
            writes.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _case_item(after),
                        "ConditionExpression": "version = :version",
                        "ExpressionAttributeValues": _to_item({":version": before.version}),
                    }
                }
            )
            writes.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _event_item(event),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        self._transact(writes)

    def complainant(self, tracking_no: str) -> Complainant | None:
        key = _to_item({"pk": f"CASE#{tracking_no}", "sk": "COMPLAINANT"})
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if not item:
            return None
        return Complainant.model_validate(
            {name: value for name, value in _from_item(item).items() if name in Complainant.model_fields}
        )

    def page(
        self,
        index: str,
        partition: str,
        limit: int,
        start: dict[str, Any] | None = None,
        sort_before: str | None = None,
        filters: dict[str, str] | None = None,
    ) -> tuple[list[Case], dict[str, Any] | None]:
        """One page of cases of an index partition (`gsi1`: a department's status queue, `gsi2`: a status
        county-wide), in index order, at most `limit` of them; with the key to continue from, or None at the
        end. `filters` are attribute equalities (e.g. category), `due_at_before` a time, applied after the key."""
        key_names = {"gsi1": ("gsi1pk", "gsi1sk"), "gsi2": ("gsi2pk", "gsi2sk")}[index]
        condition = f"{key_names[0]} = :pk"
        values: dict[str, Any] = {":pk": partition}
        if sort_before is not None:
            condition += f" AND {key_names[1]} < :before"
            values[":before"] = sort_before
        kwargs: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": condition, "Limit": limit}
        clauses, names = [], {}
        for position, (name, value) in enumerate(sorted((filters or {}).items())):
            if name == "due_at_before":
                clauses.append("due_at < :f" + str(position))
                values[f":f{position}"] = value
            else:
                clauses.append(f"#f{position} = :f{position}")
                names[f"#f{position}"] = name
                values[f":f{position}"] = value
        if clauses:
            kwargs["FilterExpression"] = " AND ".join(clauses)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        kwargs["ExpressionAttributeValues"] = _to_item(values)
        if start:
            kwargs["ExclusiveStartKey"] = _to_item(start)
        response = client("dynamodb").query(TableName=self._table, **kwargs)
        cases = [Case.model_validate(_from_item(item)) for item in response["Items"]]
        last = response.get("LastEvaluatedKey")
        return cases, (_from_item(last) if last else None)

    def events(self, tracking_no: str) -> list[AuditEvent]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=_to_item({":pk": f"CASE#{tracking_no}", ":prefix": "EVENT#"}),
        )
        return [AuditEvent.model_validate(item) for item in items]

    def add_event(self, event: AuditEvent, suffix: str, extra: list[dict[str, Any]] | None = None) -> None:
        """An audit event that changes nothing on the case (a reveal, a relayed message): filed after the event of
        the case's current version, `suffix` (unique, time first) keeping several apart and in order. `extra`:
        further writes of the same step (an outbox item), in one transaction with it."""
        values = _dump(event)
        values.update(pk=f"CASE#{event.tracking_no}", sk=f"EVENT#{event.version:08d}#{suffix}")
        put = {"TableName": self._table, "Item": _to_item(values), "ConditionExpression": "attribute_not_exists(pk)"}
        if extra:
            self._transact([{"Put": put}, *extra])
        else:
            client("dynamodb").put_item(**put)

    def record_once(self, tracking_no: str, marker: str, values: dict[str, Any]) -> bool:
        """Put a marker item unless it exists; False when it was there already (work done before)."""
        item = {"pk": f"CASE#{tracking_no}", "sk": marker, **values}
        return _write_if(
            "put_item", TableName=self._table, Item=_to_item(item), ConditionExpression="attribute_not_exists(pk)"
        )

    def forget(self, tracking_no: str, marker: str) -> None:
        client("dynamodb").delete_item(TableName=self._table, Key=_to_item({"pk": f"CASE#{tracking_no}", "sk": marker}))

    # --- notices to the complainant: one item per notice and channel, its delivery recorded on it ---

    @staticmethod
    def _notice_key(tracking_no: str, notice_id: str, channel: str) -> dict[str, Any]:
        return _to_item({"pk": f"CASE#{tracking_no}", "sk": f"{_NOTICE_PREFIX}{notice_id}#{channel}"})

    def claim_notice(
        self, tracking_no: str, notice_id: str, kind: str, channel: str, now: datetime, stale: datetime
    ) -> bool:
        """Mark a notice as being sent, counting the attempt; False when it was sent already or another delivery
        is sending it (a claim older than `stale` is taken to be of a delivery that died, and taken over)."""
        return _write_if(
            "update_item",
            TableName=self._table,
            Key=self._notice_key(tracking_no, notice_id, channel),
            UpdateExpression="SET kind = :kind, channel = :channel, #state = :sending, claimed_at = :now "
            "ADD attempts :one",
            ConditionExpression="attribute_not_exists(pk) OR #state = :failed "
            "OR (#state = :sending AND claimed_at < :stale)",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=_to_item(
                {
                    ":kind": kind,
                    ":channel": channel,
                    ":sending": "sending",
                    ":failed": "failed",
                    ":now": now.isoformat(),
                    ":stale": stale.isoformat(),
                    ":one": 1,
                }
            ),
        )

    def finish_notice(self, tracking_no: str, notice_id: str, channel: str, values: dict[str, Any]) -> None:
        """Record how a claimed notice went: `state` sent (with the provider's message id) or failed (why)."""
        fields = list(values.items())
        client("dynamodb").update_item(
            TableName=self._table,
            Key=self._notice_key(tracking_no, notice_id, channel),
            UpdateExpression="SET " + ", ".join(f"#n{position} = :v{position}" for position in range(len(fields))),
            ExpressionAttributeNames={f"#n{position}": name for position, (name, _) in enumerate(fields)},
            ExpressionAttributeValues=_to_item({f":v{position}": value for position, (_, value) in enumerate(fields)}),
        )

    def notices(self, tracking_no: str) -> list[dict[str, Any]]:
        """The notices to the complainant recorded on a case, without their keys."""
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=_to_item({":pk": f"CASE#{tracking_no}", ":prefix": _NOTICE_PREFIX}),
        )
        return [{name: value for name, value in item.items() if name not in ("pk", "sk")} for item in items]

    def mark_enqueued(self, tracking_no: str, at: datetime) -> None:
        client("dynamodb").update_item(
            TableName=self._table,
            Key=case_key(tracking_no),
            UpdateExpression="SET enqueued_at = :at",
            ExpressionAttributeValues=_to_item({":at": at.isoformat()}),
        )

    def add_reminder(self, tracking_no: str, reminder: str) -> bool:
        """Note that a reminder went out; False if it had already been noted (never send it twice)."""
        return _write_if(
            "update_item",
            TableName=self._table,
            Key=case_key(tracking_no),
            UpdateExpression="SET reminders_sent = list_append(if_not_exists(reminders_sent, :empty), :new)",
            ConditionExpression="attribute_exists(pk) AND NOT contains(reminders_sent, :reminder)",
            ExpressionAttributeValues=_to_item({":empty": [], ":new": [reminder], ":reminder": reminder}),
        )

    def by_status(self, status: Status, received_before: datetime | None = None) -> Iterator[Case]:
        condition = "gsi2pk = :pk"
        values: dict[str, Any] = {":pk": f"STATUS#{status}"}
        if received_before is not None:
            condition += " AND gsi2sk < :before"
            values[":before"] = received_before.isoformat()
        for item in self._query(
            IndexName="gsi2", KeyConditionExpression=condition, ExpressionAttributeValues=_to_item(values)
        ):
            yield Case.model_validate(item)

    def due_on(self, day: str, due_before: datetime) -> Iterator[Case]:
        """Cases of one day's shard whose running deadline falls before `due_before`."""
        for item in self._query(
            IndexName="gsi3",
            KeyConditionExpression="gsi3pk = :pk AND gsi3sk < :before",
            ExpressionAttributeValues=_to_item({":pk": f"DUE#{day}", ":before": due_before.isoformat()}),
        ):
            yield Case.model_validate(item)

    def provisional(self, year: int) -> Iterator[Case]:
        """Cases whose running deadline, due in `year` (UTC), was counted without that year's calendar."""
        for item in self._query(
            IndexName="gsi4",
            KeyConditionExpression="gsi4pk = :pk",
            ExpressionAttributeValues=_to_item({":pk": provisional_partition(year)}),
        ):
            yield Case.model_validate(item)

    @staticmethod
    def _outbox_key(version: int, step: str) -> str:
        # A change is known by the case version it made; a step that changes no version (a relayed message) adds
        # its own id.
        return f"{version:08d}#{step}" if step else f"{version:08d}"

    def outbox_write(
        self, tracking_no: str, version: int, created_at: datetime, values: dict[str, Any], step: str = ""
    ) -> dict:
        """The transaction write of an outbox item, for transition_together's or add_event's `extra` (the change
        whose messages it keeps)."""
        shard = zlib.crc32(tracking_no.encode()) % OUTBOX_SHARDS
        key = self._outbox_key(version, step)
        item = {
            **values,
            "pk": f"CASE#{tracking_no}",
            "sk": f"OUTBOX#{key}",
            "gsi3pk": f"OUTBOX#{shard}",
            "gsi3sk": f"{created_at.astimezone(UTC).isoformat(timespec='microseconds')}#{tracking_no}#{key}",
        }
        return {
            "Put": {"TableName": self._table, "Item": _to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
        }

    def outbox_before(self, cutoff: datetime) -> Iterator[dict[str, Any]]:
        """Outbox items written before `cutoff` and still there (their messages not all sent), one shard after
        another."""
        for shard in range(OUTBOX_SHARDS):
            yield from self._query(
                IndexName="gsi3",
                KeyConditionExpression="gsi3pk = :pk AND gsi3sk < :before",
                ExpressionAttributeValues=_to_item(
                    {":pk": f"OUTBOX#{shard}", ":before": cutoff.astimezone(UTC).isoformat(timespec="microseconds")}
                ),
            )

    def outbox_done(self, tracking_no: str, version: int, step: str = "") -> None:
        self.forget(tracking_no, f"OUTBOX#{self._outbox_key(version, step)}")

    def latest_by_contact(self, contact_hash: str, received_since: datetime) -> str | None:
        """Tracking number of the newest case of a complainant (keyed contact hash) received since a time."""
        response = client("dynamodb").query(
            TableName=self._table,
            IndexName="gsi4",
            KeyConditionExpression="gsi4pk = :pk AND gsi4sk >= :since",
            # Formatted as the stored received_at is (pydantic's JSON form), so that the strings compare as times.
            ExpressionAttributeValues=_to_item(
                {":pk": f"CONTACT#{contact_hash}", ":since": to_jsonable_python(received_since)}
            ),
            ScanIndexForward=False,
            Limit=1,
        )
        items = [_from_item(item) for item in response["Items"]]
        return str(items[0]["gsi4sk"]).rsplit("#", 1)[-1] if items else None

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return _query(self._table, **kwargs)

    @staticmethod
    def _transact(writes: list[dict[str, Any]]) -> None:
        try:
            client("dynamodb").transact_write_items(TransactItems=writes)
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailed(str(error)) from error
            raise


class IdempotencyStore:
    """Remembers the answer given to a request that carried an Idempotency-Key."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.idempotency_table
        self._ttl = settings.idempotency_ttl_seconds

    def claim(self, key: str, fingerprint: str, now: datetime) -> dict[str, Any] | None:
        """Claim the key for a new request; if someone already has it, return their record instead."""
        record = {
            "key": key,
            "fingerprint": fingerprint,
            "state": "in_progress",
            "expires_at": int(now.timestamp()) + self._ttl,
        }
        try:
            client("dynamodb").put_item(
                TableName=self._table,
                Item=_to_item(record),
                # An expired record may linger: DynamoDB deletes TTL items lazily.
                ConditionExpression="attribute_not_exists(#key) OR expires_at < :now",
                ExpressionAttributeNames={"#key": "key"},
                ExpressionAttributeValues=_to_item({":now": int(now.timestamp())}),
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            item = client("dynamodb").get_item(TableName=self._table, Key=_to_item({"key": key}), ConsistentRead=True)
            return _from_item(item.get("Item", {})) or None
        return None

    def complete(self, key: str, status: int, body: dict[str, Any]) -> None:
        client("dynamodb").update_item(
            TableName=self._table,
            Key=_to_item({"key": key}),
            UpdateExpression="SET #state = :done, response_status = :status, response_body = :body",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=_to_item({":done": "complete", ":status": status, ":body": body}),
        )

    def release(self, key: str) -> None:
        client("dynamodb").delete_item(TableName=self._table, Key=_to_item({"key": key}))


class QuarantineStore:
    """Payloads that could not become complaints, kept for staff with the reason (month shards)."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    def add(self, received_at: datetime, reference: str, values: dict[str, Any]) -> None:
        item = {"pk": f"QUARANTINE#{received_at:%Y-%m}", "sk": f"{received_at.isoformat()}#{reference}", **values}
        client("dynamodb").put_item(TableName=self._table, Item=_to_item(item))

    def month(self, month: str) -> list[dict[str, Any]]:
        """Entries of one month (`yyyy-mm`), oldest first."""
        items = _query(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=_to_item({":pk": f"QUARANTINE#{month}"}),
        )
        return [{k: v for k, v in item.items() if k not in ("pk", "sk")} for item in items]


class RateLimitStore:
    """Fixed-window counters: at most `limit` hits per subject per window."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.idempotency_table

    def hit(self, key: str, limit: int, expires_at: int) -> bool:
        """Count one hit; False (and nothing counted) when the window is already full."""
        return _write_if(
            "update_item",
            TableName=self._table,
            Key=_to_item({"key": key}),
            UpdateExpression="ADD hits :one SET expires_at = :expires",
            ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
            ExpressionAttributeValues=_to_item({":one": 1, ":limit": limit, ":expires": expires_at}),
        )


class MailboxStore:
    """How far the IMAP poller has read each mailbox: a UID counts only under the UIDVALIDITY it came with."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    def position(self, name: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, last UID archived), or None for a mailbox never read."""
        key = _to_item({"pk": f"MAILBOX#{name}", "sk": "STATE"})
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if not item:
            return None
        values = _from_item(item)
        return int(values["uidvalidity"]), int(values["last_uid"])

    def advance(self, name: str, uidvalidity: int, last_uid: int) -> None:
        item = {"pk": f"MAILBOX#{name}", "sk": "STATE", "uidvalidity": uidvalidity, "last_uid": last_uid}
        client("dynamodb").put_item(TableName=self._table, Item=_to_item(item))


class StaffStore:
    """Staff accounts of the system's own token issuer: password hash, TOTP secret, role and department."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    @staticmethod
    def _key(username: str) -> dict[str, Any]:
        return _to_item({"pk": f"STAFF#{username}", "sk": "PROFILE"})

    def create(self, username: str, values: dict[str, Any]) -> bool:
        """Store a new account; False if the username is taken."""
        item = {**values, "pk": f"STAFF#{username}", "sk": "PROFILE"}
        return _write_if(
            "put_item", TableName=self._table, Item=_to_item(item), ConditionExpression="attribute_not_exists(pk)"
        )

    def get(self, username: str) -> dict[str, Any] | None:
        item = client("dynamodb").get_item(TableName=self._table, Key=self._key(username), ConsistentRead=True)
        values = _from_item(item.get("Item", {}))
        return {k: v for k, v in values.items() if k not in ("pk", "sk")} or None

    def use_totp_step(self, username: str, step: int) -> bool:
        """Record a one-time code's time step as used; False if this or a later step was used already."""
        return _write_if(
            "update_item",
            TableName=self._table,
            Key=self._key(username),
            UpdateExpression="SET last_totp_step = :step",
            ConditionExpression=(
                "attribute_exists(pk) AND (attribute_not_exists(last_totp_step) OR last_totp_step < :step)"
            ),
            ExpressionAttributeValues=_to_item({":step": step}),
        )


class PublicationStore:
    """Typical cases prepared for publication, the public list of published ones, and media follow-up notes."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table
        self._cases = CaseStore(settings)

    def get(self, tracking_no: str) -> dict[str, Any] | None:
        key = _to_item({"pk": f"CASE#{tracking_no}", "sk": "PUBLICATION"})
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return {k: v for k, v in _from_item(item).items() if k not in ("pk", "sk")} if item else None

    def save(
        self,
        change: tuple[Case, Case, AuditEvent],
        publication: dict[str, Any],
        listed: dict[str, Any] | None = None,
        unlisted: str | None = None,
    ) -> None:
        """The publication with its case's version bump and audit event, in one transaction guarded by the case
        version read; `listed` puts the public item (sk `<published_at>#<no>`), `unlisted` deletes one by sk."""
        no = change[1].tracking_no
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _to_item({**publication, "pk": f"CASE#{no}", "sk": "PUBLICATION"}),
                }
            }
        ]
        if listed is not None:
            item = {**listed, "pk": "PUBLISHED", "sk": f"{listed['published_at']}#{no}"}
            writes.append({"Put": {"TableName": self._table, "Item": _to_item(item)}})
        if unlisted is not None:
            writes.append({"Delete": {"TableName": self._table, "Key": _to_item({"pk": "PUBLISHED", "sk": unlisted})}})
        self._cases.transition_together([change], writes)

    def published(self, limit: int, with_tracking_no: bool = False) -> list[dict[str, Any]]:
        """The newest published cases first: one partition, the county publishes few. The public items name no
        case; staff's reports ask `with_tracking_no` for the tracking number kept in the sort key."""
        response = client("dynamodb").query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=_to_item({":pk": "PUBLISHED"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        found = []
        for item in map(_from_item, response["Items"]):
            public = {k: v for k, v in item.items() if k not in ("pk", "sk")}
            found.append({**public, "tracking_no": item["sk"].rsplit("#", 1)[1]} if with_tracking_no else public)
        return found

    def add_note(self, tracking_no: str, note_id: str, values: dict[str, Any]) -> None:
        item = {**values, "pk": f"CASE#{tracking_no}", "sk": f"MEDIANOTE#{values['at']}#{note_id}", "id": note_id}
        client("dynamodb").put_item(TableName=self._table, Item=_to_item(item))

    def notes(self, tracking_no: str) -> list[dict[str, Any]]:
        items = _query(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=_to_item({":pk": f"CASE#{tracking_no}", ":prefix": "MEDIANOTE#"}),
        )
        return [{k: v for k, v in item.items() if k not in ("pk", "sk")} for item in items]


class HotspotStore:
    """Hotspots (shared/reporting/hotspots.py): one item each, listed by status through gsi2 (`HOTSPOTS#<status>`)."""

    _KEYS = ("pk", "sk", "gsi2pk", "gsi2sk")

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    @staticmethod
    def _key(hotspot_id: str) -> dict[str, Any]:
        return _to_item({"pk": f"HOTSPOT#{hotspot_id}", "sk": "HOTSPOT"})

    @staticmethod
    def _listing(status: str, opened_at: str, hotspot_id: str) -> dict[str, str]:
        return {"gsi2pk": f"HOTSPOTS#{status}", "gsi2sk": f"{opened_at}#{hotspot_id}"}

    def _values(self, item: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in item.items() if name not in self._KEYS}

    def get(self, hotspot_id: str) -> dict[str, Any] | None:
        response = client("dynamodb").get_item(TableName=self._table, Key=self._key(hotspot_id), ConsistentRead=True)
        item = response.get("Item")
        return self._values(_from_item(item)) if item else None

    def by_status(self, status: str, opened_before: str | None = None) -> list[dict[str, Any]]:
        """Hotspots of one status, oldest first; with `opened_before` (an `opened_at` as stored) only those opened
        before it."""
        condition, values = "gsi2pk = :pk", {":pk": f"HOTSPOTS#{status}"}
        if opened_before is not None:
            condition += " AND gsi2sk < :before"
            values[":before"] = opened_before
        items = _query(
            self._table, IndexName="gsi2", KeyConditionExpression=condition, ExpressionAttributeValues=_to_item(values)
        )
        return [self._values(item) for item in items]

    def open(self, values: dict[str, Any]) -> bool:
        """Store a new hotspot (`hotspot_id`, `status`, `opened_at` among its values); False when its id exists."""
        listing = self._listing(values["status"], values["opened_at"], values["hotspot_id"])
        item = {**values, "pk": f"HOTSPOT#{values['hotspot_id']}", "sk": "HOTSPOT", **listing}
        return _write_if(
            "put_item", TableName=self._table, Item=_to_item(item), ConditionExpression="attribute_not_exists(pk)"
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
        return _write_if(
            "update_item",
            TableName=self._table,
            Key=self._key(hotspot_id),
            UpdateExpression="SET " + ", ".join(clauses),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_to_item({**assigned, **condition_values}),
        )


class StatsStore:
    """Aggregate counters, hotspot cluster days and each case's contribution to them (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    # --- the contribution of a case: the marker of the version counted ---

    @staticmethod
    def _contribution_key(tracking_no: str) -> dict[str, Any]:
        return {"pk": f"CASE#{tracking_no}", "sk": "STATS"}

    def _contribution_item(self, contribution: Contribution) -> dict[str, Any]:
        return _to_item(
            {
                **self._contribution_key(contribution.tracking_no),
                "version": contribution.version,
                # JSON text: one attribute rather than a hundred nested ones, read and written whole anyway.
                "counts": json.dumps([[*key, amount] for key, amount in sorted(contribution.counts.items())]),
                "clusters": json.dumps(sorted(contribution.clusters), ensure_ascii=False),
            }
        )

    @staticmethod
    def _contribution_of(values: dict[str, Any]) -> Contribution:
        return Contribution(
            tracking_no=str(values["pk"]).removeprefix("CASE#"),
            version=int(values["version"]),
            counts={(p, d, n): amount for p, d, n, amount in json.loads(values["counts"])},
            clusters=frozenset((day, key) for day, key in json.loads(values["clusters"])),
        )

    def contribution(self, tracking_no: str) -> Contribution | None:
        key = _to_item(self._contribution_key(tracking_no))
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return self._contribution_of(_from_item(item)) if item else None

    def contributions(self, numbers: list[str]) -> dict[str, Contribution]:
        """The stored contributions of many cases (BatchGetItem, 100 keys a request); absent ones left out."""
        found: dict[str, Contribution] = {}
        for start in range(0, len(numbers), 100):
            request: dict[str, Any] = {
                self._table: {
                    "Keys": [_to_item(self._contribution_key(no)) for no in numbers[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                response = client("dynamodb").batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._table, []):
                    contribution = self._contribution_of(_from_item(item))
                    found[contribution.tracking_no] = contribution
                request = response.get("UnprocessedKeys") or {}
        return found

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
                "ExpressionAttributeValues": _to_item({":seen": old.version}),
            }
        )
        writes: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": self._contribution_item(new), **guard}}
        ]
        for (period, department), row in sorted(deltas.items()):
            changed = sorted((name, delta) for name, delta in row.items() if delta)
            if changed:
                writes.append({"Update": self._add_counters(period, department, changed)})
        before = old.clusters if old else frozenset()
        for cluster in sorted(new.clusters - before):
            writes.append({"Update": self._move_case(cluster, new.tracking_no, joins=True)})
        for cluster in sorted(before - new.clusters):
            writes.append({"Update": self._move_case(cluster, new.tracking_no, joins=False)})
        # A case touches at most ~5 periods x 3 departments and 4 clusters: far below the 100 items allowed.
        return _write_if("transact_write_items", TransactItems=writes)

    def _add_counters(self, period: str, department: str, deltas: list[tuple[str, int]]) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": _to_item({"pk": f"STATS#{period}", "sk": f"DEPT#{department}"}),
            "UpdateExpression": "ADD " + ", ".join(f"#c{index} :c{index}" for index in range(len(deltas))),
            "ExpressionAttributeNames": {f"#c{index}": name for index, (name, _) in enumerate(deltas)},
            "ExpressionAttributeValues": _to_item({f":c{index}": delta for index, (_, delta) in enumerate(deltas)}),
        }

    def _move_case(self, cluster: tuple[str, str], tracking_no: str, joins: bool) -> dict[str, Any]:
        day, key = cluster
        return {
            "TableName": self._table,
            "Key": _to_item({"pk": f"CLUSTER#{day}", "sk": key}),
            "UpdateExpression": "ADD #count :one, #cases :case" if joins else "ADD #count :one DELETE #cases :case",
            "ExpressionAttributeNames": {"#count": "count", "#cases": "cases"},
            "ExpressionAttributeValues": _to_item({":one": 1 if joins else -1, ":case": {tracking_no}}),
        }

    # --- reading ---

    def period_rows(self, period_key: str, counters: tuple[str, ...] = ()) -> dict[str, dict[str, int]]:
        """Department code -> counter -> amount, of one period (one Query); only `counters` when given."""
        items = _query(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=_to_item({":pk": f"STATS#{period_key}"}),
            **self._projection(counters),
        )
        return {str(item["sk"]).removeprefix("DEPT#"): self._counters(item) for item in items}

    def department_periods(
        self, department: str, period_keys: list[str], counters: tuple[str, ...] = ()
    ) -> dict[str, dict[str, int]]:
        """Period key -> counter -> amount of one department (BatchGetItem, 100 periods a request)."""
        found: dict[str, dict[str, int]] = {}
        for start in range(0, len(period_keys), 100):
            keys = [{"pk": f"STATS#{key}", "sk": f"DEPT#{department}"} for key in period_keys[start : start + 100]]
            request: dict[str, Any] = {
                self._table: {"Keys": [_to_item(key) for key in keys], **self._projection(counters)}
            }
            while request:
                response = client("dynamodb").batch_get_item(RequestItems=request)
                for item in map(_from_item, response["Responses"].get(self._table, [])):
                    found[str(item["pk"]).removeprefix("STATS#")] = self._counters(item)
                request = response.get("UnprocessedKeys") or {}
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
        items = _query(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=_to_item({":pk": f"CLUSTER#{day}"}),
        )
        return {str(item["sk"]): (int(item.get("count", 0)), set(item.get("cases", set()))) for item in items}

    # --- rebuild (hotspot rebuild-stats): replace what differs from the recount ---

    def put_row(self, period_key: str, department: str, counters: dict[str, int]) -> None:
        """Replace a counter item; an empty one is deleted."""
        key = {"pk": f"STATS#{period_key}", "sk": f"DEPT#{department}"}
        if counters:
            client("dynamodb").put_item(TableName=self._table, Item=_to_item({**counters, **key}))
        else:
            client("dynamodb").delete_item(TableName=self._table, Key=_to_item(key))

    def put_cluster(self, day: str, cluster_key: str, cases: set[str]) -> None:
        """Replace a cluster item; one without cases is deleted."""
        key = {"pk": f"CLUSTER#{day}", "sk": cluster_key}
        if cases:
            item = _to_item({**key, "count": len(cases), "cases": cases})
            client("dynamodb").put_item(TableName=self._table, Item=item)
        else:
            client("dynamodb").delete_item(TableName=self._table, Key=_to_item(key))

    def put_contribution(self, contribution: Contribution) -> None:
        client("dynamodb").put_item(TableName=self._table, Item=self._contribution_item(contribution))


class RecordStore:
    """What the county legal office enters (lost lawsuits, accountability for wrong decisions), with an audit event
    per change, and the departments' campaign material submissions with the reminders sent about them."""

    _KEYS = ("pk", "sk", "gsi1pk", "gsi1sk")

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    def _values(self, item: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in item.items() if name not in self._KEYS}

    @staticmethod
    def _key(record_id: str) -> dict[str, Any]:
        return _to_item({"pk": f"RECORD#{record_id}", "sk": "RECORD"})

    def get(self, record_id: str) -> dict[str, Any] | None:
        item = client("dynamodb").get_item(TableName=self._table, Key=self._key(record_id), ConsistentRead=True)
        return self._values(_from_item(item["Item"])) if "Item" in item else None

    def _event_put(self, event: dict[str, Any]) -> dict[str, Any]:
        item = {**event, "pk": f"RECORD#{event['record_id']}", "sk": f"EVENT#{event['at']}#{event['version']:04d}"}
        return {
            "Put": {"TableName": self._table, "Item": _to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
        }

    def save(self, record: dict[str, Any], event: dict[str, Any], version_read: int | None) -> None:
        """Put a record (`id`, `kind`, `date`, `version` among its values) with its audit event in one transaction:
        new when `version_read` is None, else only if the stored one is still that version (ConditionFailed)."""
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
                "ExpressionAttributeValues": _to_item({":seen": version_read}),
            }
        )
        put = {"Put": {"TableName": self._table, "Item": _to_item(item), **guard}}
        CaseStore._transact([put, self._event_put(event)])

    def delete(self, record_id: str, event: dict[str, Any], version_read: int) -> None:
        """Delete a record, keeping its audit event; ConditionFailed if it changed since it was read."""
        remove = {
            "Delete": {
                "TableName": self._table,
                "Key": self._key(record_id),
                "ConditionExpression": "version = :seen",
                "ExpressionAttributeValues": _to_item({":seen": version_read}),
            }
        }
        CaseStore._transact([remove, self._event_put(event)])

    def events(self, record_id: str) -> list[dict[str, Any]]:
        items = _query(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=_to_item({":pk": f"RECORD#{record_id}", ":prefix": "EVENT#"}),
        )
        return [self._values(item) for item in items]

    def between(self, first: str, last: str) -> list[dict[str, Any]]:
        """Records dated from `first` to `last` (ISO dates, inclusive), by date: one Query per calendar year."""
        found: list[dict[str, Any]] = []
        for year in range(int(first[:4]), int(last[:4]) + 1):
            found += _query(
                self._table,
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :pk AND gsi1sk BETWEEN :first AND :last",
                ExpressionAttributeValues=_to_item(
                    # `~` sorts after every character of a kind and an id: the last day is included whole.
                    {":pk": f"RECORDS#{year}", ":first": first, ":last": f"{last}#~"}
                ),
            )
        return [self._values(item) for item in found]

    # --- campaign materials ---

    def add_submission(self, campaign: str, values: dict[str, Any]) -> bool:
        """Record a submission (`department`, `material`, `upload_id` among its values); False if it is there."""
        sk = f"{values['department']}#{values['material']}#{values['upload_id']}"
        return _write_if(
            "put_item",
            TableName=self._table,
            Item=_to_item({**values, "pk": f"MATERIALS#{campaign}", "sk": sk}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def submission(self, campaign: str, department: str, material: str, upload_id: str) -> dict[str, Any] | None:
        key = _to_item({"pk": f"MATERIALS#{campaign}", "sk": f"{department}#{material}#{upload_id}"})
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return self._values(_from_item(item)) if item else None

    def submissions(self, campaign: str, department: str | None = None) -> list[dict[str, Any]]:
        """The submissions of a campaign (one partition: a county has tens of departments), or of one department."""
        condition, values = "pk = :pk", {":pk": f"MATERIALS#{campaign}"}
        if department is not None:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = f"{department}#"
        items = _query(self._table, KeyConditionExpression=condition, ExpressionAttributeValues=_to_item(values))
        return [self._values(item) for item in items]

    @staticmethod
    def _reminder_item(campaign: str, day: str, department: str, material: str) -> dict[str, Any]:
        return {"pk": f"MATREMIND#{campaign}#{day}", "sk": f"{department}#{material}"}

    def claim_reminder(self, campaign: str, day: str, department: str, material: str) -> bool:
        """Note the day's reminder about a material; False when it was noted already (sent today)."""
        item = self._reminder_item(campaign, day, department, material)
        return _write_if(
            "put_item", TableName=self._table, Item=_to_item(item), ConditionExpression="attribute_not_exists(pk)"
        )

    def release_reminder(self, campaign: str, day: str, department: str, material: str) -> None:
        key = self._reminder_item(campaign, day, department, material)
        client("dynamodb").delete_item(TableName=self._table, Key=_to_item(key))


class CaseNotFound(Exception):
    """A message names a case that is not stored: left to retries and then the dead-letter queue."""
