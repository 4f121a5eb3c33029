"""The call-back question (回访) sent with the first reply: one notice to the complainant, by SMS and/or mail as
they chose, asking how satisfied they are (shared/core/callbacks.py records the answers). Wording: the kind
`callback` in sms_templates.json and complainant_notices.json; the window: callbacks.json.
"""

from shared.core import reference_data
from shared.core.messages import Envelope, MessageType
from shared.core.models import Case
from shared.core.settings import Settings
from shared.routing.notifications import ComplainantNotice


def answer_link(settings: Settings, tracking_no: str) -> str:
    """The public page where a complainant answers with their tracking number and verification code."""
    return f"{settings.public_base_url.rstrip('/')}/feedback?no={tracking_no}"


def question(settings: Settings, before: Case, after: Case) -> Envelope | None:
    """The question, when this change opened the call-back (the first reply to a reachable complainant)."""
    if before.callback is not None or after.callback is None:
        return None
    due = after.callback.due_at.astimezone(reference_data.county_timezone())
    notice = ComplainantNotice(
        tracking_no=after.tracking_no,
        kind="callback",
        values={
            "tracking_no": after.tracking_no,
            "due": f"{due:%m月%d日}",
            "link": answer_link(settings, after.tracking_no),
        },
    )
    return Envelope(
        type=MessageType.notification_requested,
        id=f"{after.tracking_no}:v{after.version}:callback",
        data=notice.model_dump(),
    )
