"""The IMAP poller's position in a mailbox."""

from shared.core.aws import client
from shared.core.dal.items import from_item, to_item
from shared.core.settings import Settings


class MailboxStore:
    """How far the IMAP poller has read each mailbox: a UID counts only under the UIDVALIDITY it came with."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    def position(self, name: str) -> tuple[int, int] | None:
        """(UIDVALIDITY, last UID archived), or None for a mailbox never read."""
        key = to_item({"pk": f"MAILBOX#{name}", "sk": "STATE"})
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if not item:
            return None
        values = from_item(item)
        return int(values["uidvalidity"]), int(values["last_uid"])

    def advance(self, name: str, uidvalidity: int, last_uid: int) -> None:
        item = {"pk": f"MAILBOX#{name}", "sk": "STATE", "uidvalidity": uidvalidity, "last_uid": last_uid}
        client("dynamodb").put_item(TableName=self._table, Item=to_item(item))
