"""The IMAP poller: new mail of an ordinary mailbox (163.com, a government mail server) into the raw bucket.

AWS's China regions have no SES, and county offices often publish such a mailbox. Every few minutes the
poller logs in over TLS with credentials from Secrets Manager, reads the messages it has not seen (UIDs above
the last one archived, under the same UIDVALIDITY, remembered in DynamoDB), and puts each one raw under
`raw/email/`; the bucket's notification then files it like any other mail (shared/intake/mail_inbound.py).
It reads with BODY.PEEK[] and never deletes or flags, so the mailbox stays as the office left it.
"""

import imaplib
import re
import ssl
from datetime import UTC, datetime
from functools import cache

from pydantic import BaseModel

from shared.core import filing, secrets
from shared.core.dal.mailbox import MailboxStore
from shared.core.models import Channel
from shared.core.observability import logger
from shared.core.settings import Settings

# A Lambda run has 10 seconds: the rest waits for the next run.
MAX_MESSAGES_PER_RUN = 20
TIMEOUT_SECONDS = 8
# RFC 2971 ID, which NetEase (163.com, 126.com) requires before SELECT ("Unsafe Login" otherwise).
CLIENT_ID = '("name" "hotspot-intake" "version" "1.0" "vendor" "hotspot")'


class MailboxConfig(BaseModel):
    host: str
    port: int = 993
    username: str
    password: str
    mailbox: str = "INBOX"


class PollResult(BaseModel):
    archived: int
    raw_keys: list[str]


@cache
def _say_off_once() -> None:
    logger.info("IMAP poller off: no mailbox secret configured")


def poll(settings: Settings, context: ssl.SSLContext | None = None, now: datetime | None = None) -> PollResult:
    """Archive the mailbox's new messages; the position advances after each one, so none is read twice."""
    if not settings.mail_imap_secret:
        _say_off_once()
        return PollResult(archived=0, raw_keys=[])
    config = MailboxConfig.model_validate(secrets.get_json(settings.mail_imap_secret))
    name = f"{settings.mail_imap_secret}#{config.mailbox}"
    store = MailboxStore(settings)
    raw_keys: list[str] = []
    with imaplib.IMAP4_SSL(
        config.host, config.port, ssl_context=context or ssl.create_default_context(), timeout=TIMEOUT_SECONDS
    ) as imap:
        imap.login(config.username, config.password)
        imap.xatom("ID", CLIENT_ID)
        _check(imap.select(_quoted(config.mailbox), readonly=True), "SELECT")
        uidvalidity = int(_first(imap.response("UIDVALIDITY")[1]))
        position = store.position(name)
        # A new UIDVALIDITY means the server renumbered the mailbox: read it again (Message-IDs dedupe).
        last_uid = position[1] if position and position[0] == uidvalidity else 0
        status, data = imap.uid("SEARCH", "UID", f"{last_uid + 1}:*")
        _check((status, data), "SEARCH")
        # `n:*` also matches the highest UID when it is below n, so filter.
        uids = sorted(uid for uid in map(int, _first(data).split()) if uid > last_uid)
        for uid in uids[:MAX_MESSAGES_PER_RUN]:
            raw = _fetch(imap, uid)
            raw_keys.append(
                filing.archive_raw(settings, Channel.email, raw, "message/rfc822", now or datetime.now(UTC))
            )
            store.advance(name, uidvalidity, uid)
    logger.info("IMAP poll", extra={"archived": len(raw_keys), "waiting": max(len(uids) - len(raw_keys), 0)})
    return PollResult(archived=len(raw_keys), raw_keys=raw_keys)


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _first(data: list) -> str:
    value = data[0] if data else b""
    return value.decode("ascii") if isinstance(value, bytes) else str(value or "")


def _check(response: tuple[str, list], command: str) -> None:
    if response[0] != "OK":
        raise imaplib.IMAP4.error(f"{command} failed: {response[0]}")


def _fetch(imap: imaplib.IMAP4, uid: int) -> bytes:
    status, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
    _check((status, data), "FETCH")
    for item in data:
        # ( b'1 (UID 5 BODY[] {123}', b'<message>' ), then b')'
        if isinstance(item, tuple) and re.search(rb"BODY\[\]", item[0]):
            return bytes(item[1])
    raise imaplib.IMAP4.error(f"FETCH returned no body for UID {uid}")
