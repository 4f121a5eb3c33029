"""Replaying a quarantined payload after the fix that makes it acceptable (`hotspot quarantine replay`).

The archived raw payload is filed again through the intake logic of its channel, as of when it came: a JSON
submission or the web form as `complaints.accept` files them, under the idempotency key `replay-<reference>`, and
a mail as `mail_inbound.receive` files it, once per Message-ID (and answers the sender). So a payload replayed twice,
or replayed after it did get through, gives the same complaint back. One that still cannot be filed goes on the
quarantine list again with today's reason. SMS pushes (several texts under the provider's signature) and staff
entries (made under a staff member's name) are not replayed: they are filed by hand through operator entry.
"""

import hashlib
from datetime import datetime

from shared.core import filing, objects, quarantine, ratelimit
from shared.core.errors import ApiError
from shared.core.filing import Answer
from shared.core.mailer import MailSender
from shared.core.models import Channel
from shared.core.quarantine import QuarantineEntry
from shared.core.settings import Settings
from shared.intake import complaints, mail_inbound, web

REPLAYED_CHANNELS = (Channel.web, Channel.email)
FORM = "application/x-www-form-urlencoded"


class NotReplayable(Exception):
    """No such entry in the month, or one of a channel that is filed by hand."""


def find(settings: Settings, month: str, reference: str) -> QuarantineEntry:
    """The entry of the month (`yyyy-mm`, UTC, as the list shards it) whose raw payload has this reference."""
    for entry in quarantine.month(settings, month):
        if filing.raw_ref(entry.raw_key) == reference:
            return entry
    raise NotReplayable(f"no quarantined payload {reference} in {month}")


def replay(settings: Settings, entry: QuarantineEntry, mail: MailSender, now: datetime) -> Answer:
    """File the entry's raw payload again; the answer its channel gives (201 and the receipt when filed), the
    entry marked with the complaint it became."""
    answer = _file_again(settings, entry, mail, now)
    if answer.status < 400:
        quarantine.mark_replayed(settings, entry, answer.body["tracking_no"])
    return answer


def _file_again(settings: Settings, entry: QuarantineEntry, mail: MailSender, now: datetime) -> Answer:
    if entry.channel not in REPLAYED_CHANNELS:
        raise NotReplayable(f"{entry.channel} payloads are filed by hand through operator entry")
    if entry.channel == Channel.email:
        answer = mail_inbound.receive(settings, entry.raw_key, mail, entry.received_at)
        if answer is None:
            raise NotReplayable(f"the raw mail {entry.raw_key} is gone")
        return answer
    body = objects.get(settings.raw_bucket, entry.raw_key)
    stored = objects.head(settings.raw_bucket, entry.raw_key)
    content_type = stored[1] if stored else ""
    try:
        if content_type.split(";", 1)[0].strip().lower() == FORM:
            request = web.request_from_form(*web.read_form(body))
        else:
            request = filing.parse_request(body, filing.ComplaintRequest)
        # Staff file it again: no address limit, the complainant's phone number's still (accept adds it).
        return complaints.accept(
            settings,
            request,
            entry.channel,
            entry.raw_key,
            entry.received_at,
            f"replay-{filing.raw_ref(entry.raw_key)}",
            hashlib.sha256(body).hexdigest(),
            ratelimit.Admission(),
        )
    except ratelimit.OverLimit:
        return filing.reject(settings, entry.channel, entry.raw_key, ratelimit.too_many(ratelimit.WINDOW_SECONDS), now)
    except ApiError as error:
        return filing.reject(settings, entry.channel, entry.raw_key, error, now)
