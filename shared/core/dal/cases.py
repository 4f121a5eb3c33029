"""Cases: the case item, its complainant, audit events, notices, outbox items and the indexes over them."""

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from shared.core.aws import client
from shared.core.changes import CaseChange
from shared.core.dal.items import (
    Claim,
    batch_get,
    claim_delivery,
    dump,
    finish_delivery,
    from_item,
    query,
    to_item,
    transact,
    write_if,
)
from shared.core.models import AuditEvent, Case, Channel, Complainant, Status
from shared.core.observability import count, logger
from shared.core.settings import Settings

# Notices to the complainant, apart from the deadline notices' `NOTICE#<message id>#<phone hash>` markers.
NOTICE_PREFIX = "NOTICE#COMPLAINANT#"


def case_key(tracking_no: str) -> dict[str, Any]:
    return to_item({"pk": f"CASE#{tracking_no}", "sk": "CASE"})


def complainant_key(tracking_no: str) -> dict[str, Any]:
    """The case's personal-data compartment: who complained and how to reach them."""
    return to_item({"pk": f"CASE#{tracking_no}", "sk": "COMPLAINANT"})


def _complainant(values: dict[str, Any]) -> Complainant:
    return Complainant.model_validate(
        {name: value for name, value in values.items() if name in Complainant.model_fields}
    )


def _empty_by_default(default: Any) -> bool:
    return default is False or (type(default) is list and not default)


# The case's flags and lists whose default is off or empty: left out of its item while they are (a sparse item, as
# DynamoDB allows), because most cases never set most of them and every write would pay for their names; a case
# read back gets them as their defaults. None is in a key; the one condition naming one, a reminder's
# `NOT contains(reminders_sent, ...)`, holds on an absent list as on an empty one.
SPARSE_FIELDS = frozenset(
    name for name, field in Case.model_fields.items() if _empty_by_default(field.get_default(call_default_factory=True))
)


def case_item(case: Case) -> dict[str, Any]:
    values = {name: value for name, value in dump(case).items() if not (name in SPARSE_FIELDS and not value)}
    values.update(pk=f"CASE#{case.tracking_no}", sk="CASE")
    values.update(gsi2pk=f"STATUS#{case.status}", gsi2sk=f"{values['received_at']}#{case.tracking_no}")
    if case.department:
        order = values["due_at"] or values["received_at"]
        values.update(gsi1pk=f"DEPT#{case.department}#{case.status}", gsi1sk=f"{order}#{case.tracking_no}")
    if case.due_at:
        # The workflow clears due_at when no deadline runs any more, which drops the case from the due index.
        looked_at = max(case.due_at, case.remind_from) if case.remind_from else case.due_at
        values.update(gsi3pk=f"DUE#{due_shard(looked_at)}", gsi3sk=f"{values['due_at']}#{case.tracking_no}")
        if case.deadline_provisional:
            # Recomputed once the year's calendar arrives (shared/routing/provisional.py); a new put drops the key.
            values.update(gsi4pk=provisional_partition(case.due_at.astimezone(UTC).year), gsi4sk=values["gsi3sk"])
    return to_item(values)


def provisional_partition(year: int) -> str:
    """The gsi4 partition of the cases whose provisional deadline is due in a year (UTC)."""
    return f"PROVISIONAL#{year}"


# Outbox items are spread over this many gsi3 partitions (by tracking number); the sweeper reads each.
OUTBOX_SHARDS = 8


def due_shard(moment: datetime) -> str:
    """The gsi3 partition of a deadline: its UTC month, so that no one partition holds every case and a reminders
    run reads a handful of partitions however far it looks back."""
    return f"{moment.astimezone(UTC):%Y-%m}"


def event_item(event: AuditEvent) -> dict[str, Any]:
    values = dump(event)
    values.update(pk=f"CASE#{event.tracking_no}", sk=f"EVENT#{event.version:08d}")
    return to_item(values)


class LatestCase(BaseModel):
    """The newest case of a complainant: what an SMS needs to know whether it follows up on it."""

    tracking_no: str
    channel: Channel
    received_at: datetime


def _latest_item(case: Case, contact_hash: str) -> dict[str, Any]:
    # Put unconditionally with every new case of the contact: the last one filed wins.
    latest = LatestCase(tracking_no=case.tracking_no, channel=case.channel, received_at=case.received_at)
    return to_item({**dump(latest), "pk": f"CONTACT#{contact_hash}", "sk": "LATEST"})


class CaseStore:
    """Cases, their complainants and their audit events."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    def create(
        self,
        case: Case,
        complainant: Complainant | None,
        event: AuditEvent,
        contact_hash: str | None,
        first: list[dict[str, Any]] | None = None,
        sms_since: datetime | None = None,
        extra: list[dict[str, Any]] | None = None,
    ) -> None:
        """Store a new case with its first audit event, and `first` (the idempotency key's stored answer, the
        sender's rate-limit counters: first of the transaction's writes) and `extra` (last) in the same transaction;
        ConditionFailed if the tracking number is taken, or a condition of `first` or `extra` fails, or
        (`sms_since` given) the contact's newest case came by SMS since then (the text follows up on it)."""
        writes = [
            *(first or []),
            {
                "Put": {
                    "TableName": self._table,
                    "Item": case_item(case),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": self._table, "Item": event_item(event)}},
        ]
        if complainant is not None:
            values = dump(complainant)
            values.update(pk=f"CASE#{case.tracking_no}", sk="COMPLAINANT")
            if contact_hash:
                values.update(
                    gsi4pk=f"CONTACT#{contact_hash}", gsi4sk=f"{dump(case)['received_at']}#{case.tracking_no}"
                )
            writes.append({"Put": {"TableName": self._table, "Item": to_item(values)}})
            if contact_hash:
                latest: dict[str, Any] = {"TableName": self._table, "Item": _latest_item(case, contact_hash)}
                if sms_since is not None:
                    latest.update(
                        ConditionExpression="attribute_not_exists(pk) OR channel <> :sms OR received_at < :since",
                        # Formatted as the stored received_at is (pydantic's JSON form): the strings compare as times.
                        ExpressionAttributeValues=to_item(
                            {":sms": "sms", ":since": to_jsonable_python(sms_since.astimezone(UTC))}
                        ),
                    )
                writes.append({"Put": latest})
        transact([*writes, *(extra or [])])

    def get(self, tracking_no: str) -> Case | None:
        response = client("dynamodb").get_item(TableName=self._table, Key=case_key(tracking_no), ConsistentRead=True)
        item = response.get("Item")
        return Case.model_validate(from_item(item)) if item else None

    def get_many(self, tracking_nos: list[str]) -> dict[str, Case]:
        """The cases of many tracking numbers (BatchGetItem, consistent), by tracking number; a case not found is
        absent."""
        keys = [case_key(tracking_no) for tracking_no in dict.fromkeys(tracking_nos)]
        cases = (Case.model_validate(item) for item in batch_get(self._table, keys, ConsistentRead=True))
        return {case.tracking_no: case for case in cases}

    def complainants(self, tracking_nos: list[str]) -> dict[str, Complainant]:
        """The complainants of many cases (BatchGetItem, consistent), by tracking number; a case without one is
        absent."""
        keys = [complainant_key(tracking_no) for tracking_no in dict.fromkeys(tracking_nos)]
        items = batch_get(self._table, keys, ConsistentRead=True)
        return {str(item["pk"]).removeprefix("CASE#"): _complainant(item) for item in items}

    def transition(self, before: Case, after: Case, event: AuditEvent) -> None:
        """Replace the case and append its audit event in one transaction, guarded by the version read."""
        self.transition_together([CaseChange(before, after, event)])

    def transition_together(self, changes: list[CaseChange], extra: list[dict[str, Any]] | None = None) -> None:
        """Several cases (e.g. both sides of a merge) and their audit events in one transaction: all or none.
        `extra`: further transaction writes of the same change (e.g. a publication, PublicationStore)."""
        writes: list[dict[str, Any]] = list(extra or [])
        for before, after, event in changes:
            writes.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": case_item(after),
                        "ConditionExpression": "version = :version",
                        "ExpressionAttributeValues": to_item({":version": before.version}),
                    }
                }
            )
            writes.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": event_item(event),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        transact(writes)

    def complainant(self, tracking_no: str) -> Complainant | None:
        key = complainant_key(tracking_no)
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return _complainant(from_item(item)) if item else None

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
        kwargs["ExpressionAttributeValues"] = to_item(values)
        if start:
            kwargs["ExclusiveStartKey"] = to_item(start)
        response = client("dynamodb").query(TableName=self._table, **kwargs)
        cases = [Case.model_validate(from_item(item)) for item in response["Items"]]
        last = response.get("LastEvaluatedKey")
        return cases, (from_item(last) if last else None)

    def page_key(self, index: str, case: Case) -> dict[str, Any]:
        """Where a page of `index` that ends with `case` goes on: its keys, as `page` gives them."""
        stored = from_item(case_item(case))
        return {name: stored[name] for name in ("pk", "sk", f"{index}pk", f"{index}sk")}

    def events(self, tracking_no: str) -> list[AuditEvent]:
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": f"CASE#{tracking_no}", ":prefix": "EVENT#"}),
        )
        return [AuditEvent.model_validate(item) for item in items]

    def add_event(self, event: AuditEvent, suffix: str, extra: list[dict[str, Any]] | None = None) -> None:
        """An audit event that changes nothing on the case (a reveal, a relayed message): filed after the event of
        the case's current version, `suffix` (unique, time first) keeping several apart and in order. `extra`:
        further writes of the same step (an outbox item), in one transaction with it."""
        values = dump(event)
        values.update(pk=f"CASE#{event.tracking_no}", sk=f"EVENT#{event.version:08d}#{suffix}")
        put = {"TableName": self._table, "Item": to_item(values), "ConditionExpression": "attribute_not_exists(pk)"}
        if extra:
            transact([{"Put": put}, *extra])
        else:
            client("dynamodb").put_item(**put)

    def forget(self, tracking_no: str, marker: str) -> None:
        client("dynamodb").delete_item(TableName=self._table, Key=to_item({"pk": f"CASE#{tracking_no}", "sk": marker}))

    # --- notices: one item per notice and recipient (deadline notices) or channel (notices to the complainant),
    # claimed under a lease before the send and recorded after it (shared/core/dal/items.py claim_delivery) ---

    def claim_delivery(
        self, tracking_no: str, marker: str, now: datetime, lease_seconds: int, values: dict[str, Any]
    ) -> Claim:
        return claim_delivery(self._table, {"pk": f"CASE#{tracking_no}", "sk": marker}, now, lease_seconds, values)

    def finish_delivery(self, tracking_no: str, marker: str, values: dict[str, Any]) -> None:
        finish_delivery(self._table, {"pk": f"CASE#{tracking_no}", "sk": marker}, values)

    def notices(self, tracking_no: str) -> list[dict[str, Any]]:
        """The notices to the complainant recorded on a case, without their keys."""
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=to_item({":pk": f"CASE#{tracking_no}", ":prefix": NOTICE_PREFIX}),
        )
        return [{name: value for name, value in item.items() if name not in ("pk", "sk")} for item in items]

    def mark_enqueued(self, tracking_no: str, at: datetime) -> None:
        client("dynamodb").update_item(
            TableName=self._table,
            Key=case_key(tracking_no),
            UpdateExpression="SET enqueued_at = :at",
            ExpressionAttributeValues=to_item({":at": at.isoformat()}),
        )

    def add_reminder(self, tracking_no: str, reminder: str, remind_from: datetime | None = None) -> bool:
        """Note that a reminder went out; False if it had already been noted (never send it twice). An overdue
        reminder also moves the case's due-index entry to `remind_from` (see Case.remind_from), while a deadline
        still runs."""
        update = "SET reminders_sent = list_append(if_not_exists(reminders_sent, :empty), :new)"
        values: dict[str, Any] = {":empty": [], ":new": [reminder], ":reminder": reminder}
        condition = "attribute_exists(pk) AND NOT contains(reminders_sent, :reminder)"
        if remind_from is not None:
            update += ", remind_from = :from, gsi3pk = :shard"
            condition += " AND attribute_exists(gsi3pk)"
            values.update({":from": remind_from.astimezone(UTC).isoformat(), ":shard": f"DUE#{due_shard(remind_from)}"})
        return write_if(
            "update_item",
            TableName=self._table,
            Key=case_key(tracking_no),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeValues=to_item(values),
        )

    def by_status(self, status: Status, received_before: datetime | None = None) -> Iterator[Case]:
        condition = "gsi2pk = :pk"
        values: dict[str, Any] = {":pk": f"STATUS#{status}"}
        if received_before is not None:
            condition += " AND gsi2sk < :before"
            values[":before"] = received_before.isoformat()
        for item in self._query(
            IndexName="gsi2", KeyConditionExpression=condition, ExpressionAttributeValues=to_item(values)
        ):
            yield from _readable(item)

    def move_due_entry(self, case: Case) -> bool:
        """Put the case's due-index entry where `case_item` puts it now (the shards were days before they were
        months); False when it is there already, no deadline runs, or the case changed since it was read."""
        shard = case_item(case).get("gsi3pk")
        if shard is None:
            return False
        return write_if(
            "update_item",
            TableName=self._table,
            Key=case_key(case.tracking_no),
            UpdateExpression="SET gsi3pk = :shard",
            ConditionExpression="version = :version AND gsi3pk <> :shard",
            ExpressionAttributeValues={":shard": shard, **to_item({":version": case.version})},
        )

    def due_in(self, shard: str, due_before: datetime) -> Iterator[Case]:
        """Cases of one due shard (`due_shard`) whose running deadline falls before `due_before`."""
        for item in self._query(
            IndexName="gsi3",
            KeyConditionExpression="gsi3pk = :pk AND gsi3sk < :before",
            ExpressionAttributeValues=to_item({":pk": f"DUE#{shard}", ":before": due_before.isoformat()}),
        ):
            yield from _readable(item)

    def provisional(self, year: int) -> Iterator[Case]:
        """Cases whose running deadline, due in `year` (UTC), was counted without that year's calendar."""
        for item in self._query(
            IndexName="gsi4",
            KeyConditionExpression="gsi4pk = :pk",
            ExpressionAttributeValues=to_item({":pk": provisional_partition(year)}),
        ):
            yield from _readable(item)

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
            "Put": {"TableName": self._table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
        }

    def outbox_before(self, cutoff: datetime) -> Iterator[dict[str, Any]]:
        """Outbox items written before `cutoff` and still there (their messages not all sent), one shard after
        another."""
        for shard in range(OUTBOX_SHARDS):
            yield from self._query(
                IndexName="gsi3",
                KeyConditionExpression="gsi3pk = :pk AND gsi3sk < :before",
                ExpressionAttributeValues=to_item(
                    {":pk": f"OUTBOX#{shard}", ":before": cutoff.astimezone(UTC).isoformat(timespec="microseconds")}
                ),
            )

    def outbox_done(self, tracking_no: str, version: int, step: str = "") -> None:
        self.forget(tracking_no, f"OUTBOX#{self._outbox_key(version, step)}")

    def latest_by_contact(self, contact_hash: str) -> LatestCase | None:
        """The case a complainant (keyed contact hash) filed last: one GetItem of the `LATEST` item that the case's
        creation wrote (`create`), so that an SMS follow-up costs no index Query and no read of the case."""
        key = to_item({"pk": f"CONTACT#{contact_hash}", "sk": "LATEST"})
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return LatestCase.model_validate(from_item(item)) if item else None

    def recent_by_contact(self, contact_hash: str, limit: int) -> list[str]:
        """Tracking numbers of a complainant's newest cases (keyed contact hash), newest first, at most `limit`."""
        response = client("dynamodb").query(
            TableName=self._table,
            IndexName="gsi4",
            KeyConditionExpression="gsi4pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"CONTACT#{contact_hash}"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [str(from_item(item)["gsi4sk"]).rsplit("#", 1)[-1] for item in response["Items"]]

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return query(self._table, **kwargs)


def _readable(item: dict[str, Any]) -> Iterator[Case]:
    """A listed case, or nothing when its stored item no longer reads as one: logged by key and counted, so that
    one bad item never stops a listing (or the scheduled run reading it)."""
    try:
        yield Case.model_validate(item)
    except ValidationError:
        logger.error("stored case unreadable; skipped", extra={"pk": item.get("pk")})
        count("UnreadableCase")
