"""Email intake: one raw MIME message in S3 becomes a complaint, or a quarantine entry, and the sender is told.

Raw mail lands under `raw/email/` in the raw bucket, from SES's receipt rule (global regions), the IMAP poller
(shared/intake/imap_poller.py, for ordinary mailboxes in China) or the local stack's SMTP listener. The bucket's
notification puts an S3 event on the mail queue; `receive_event` handles one such message. The raw object is
the archived payload: whatever happens next, it stays, and the quarantine list points at it.
"""

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from shared.core import filing, objects, reference_data
from shared.core.errors import ApiError
from shared.core.filing import Answer, ComplaintDraft
from shared.core.mailer import MailSender
from shared.core.models import Channel, Complainant
from shared.core.observability import logger
from shared.core.settings import Settings
from shared.intake.mail import ParsedMail, parse

PREFIX = f"raw/{Channel.email}/"
# As for the web form (filing.ComplaintRequest); the full text stays in the raw mail.
MAX_DESCRIPTION_CHARS = 5_000
TRUNCATED = "……（内容过长，全文见原始邮件）"
MAX_KEY_CHARS = 200


def receive_event(settings: Settings, body: str, sender: MailSender, now: datetime | None = None) -> None:
    """One SQS message of the raw bucket's notification: each S3 record under the mail prefix is one mail."""
    # S3 also sends an `s3:TestEvent` without records when the notification is set up.
    for record in json.loads(body).get("Records", []):
        key = unquote_plus(record["s3"]["object"]["key"])
        if record["s3"]["bucket"]["name"] == settings.raw_bucket and key.startswith(PREFIX):
            receive(settings, key, sender, now or datetime.now(UTC))


def receive(settings: Settings, raw_key: str, sender: MailSender, now: datetime) -> Answer | None:
    try:
        raw = objects.get(settings.raw_bucket, raw_key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            logger.warning("mail object gone", extra={"raw_key": raw_key})  # deleted by hand: nothing to file
            return None
        raise
    mail = parse(raw) if len(raw) <= settings.mail_max_bytes else None
    answer = file_mail(settings, raw_key, len(raw), mail, now)
    if mail is not None and not answer.replayed:
        _reply(settings, mail, answer, sender)
    return answer


def file_mail(settings: Settings, raw_key: str, size: int, mail: ParsedMail | None, now: datetime) -> Answer:
    """A complaint from the mail, once per Message-ID; what cannot be one goes to the quarantine list."""
    try:
        if mail is None:
            limit_mb = settings.mail_max_bytes // (1024 * 1024)
            raise ApiError(413, "mail_too_large", f"邮件（含附件）超过 {limit_mb} MB 上限", [])
        _check(settings, mail)
        draft = ComplaintDraft(
            channel=Channel.email,
            raw_key=raw_key,
            received_at=now,
            description=_description(mail),
            complainant=Complainant(email=mail.from_address, name=mail.from_name) if mail.from_address else None,
        )

        def store(once: filing.Once) -> dict:
            attachments = _store_attachments(settings, raw_key, mail)
            receipt = filing.create_complaint(settings, draft.model_copy(update={"attachments": attachments}), once)
            return receipt.model_dump(mode="json")

        try:
            return filing.run_once(settings, _dedupe_key(mail), mail.fingerprint, now, store)
        except ApiError as error:
            if error.code == "idempotency_key_reused":
                raise ApiError(409, "duplicate_message_id", "已收到过同一 Message-ID 但内容不同的邮件") from error
            raise  # request_in_progress: the same mail is being filed now; the queue brings this one back
    except ApiError as error:
        if error.code == "request_in_progress":
            raise
        return filing.reject(settings, Channel.email, raw_key, error, now)


def _check(settings: Settings, mail: ParsedMail) -> None:
    if mail.bounce or mail.automatic:
        raise ApiError(422, "automatic_mail", "自动发送的邮件（退信、自动回复或群发），不登记为投诉")
    if mail.from_address == settings.mail_address.lower():
        raise ApiError(422, "mail_loop", "本系统自己发出的邮件，不登记为投诉")
    if mail.undecodable and not mail.text:
        raise ApiError(422, "undecodable_text", "邮件正文的字符编码无法识别")
    if not (mail.subject or mail.text or mail.attachments):
        raise ApiError(422, "empty_mail", "邮件没有标题、正文或附件")


def _description(mail: ParsedMail) -> str:
    parts = [mail.subject, mail.text]
    if not mail.text and mail.attachments:
        names = "、".join(item.original_name or item.name for item in mail.attachments)
        parts.append(f"（邮件无正文，内容见附件：{names}）")
    text = "\n\n".join(part for part in parts if part)
    if len(text) > MAX_DESCRIPTION_CHARS:
        text = text[: MAX_DESCRIPTION_CHARS - len(TRUNCATED)] + TRUNCATED
    return text


def _dedupe_key(mail: ParsedMail) -> str:
    # The same mail can arrive twice (SES and IMAP, an S3 event delivered again): file it once.
    if mail.message_id and len(mail.message_id) <= MAX_KEY_CHARS:
        return f"{Channel.email}:{mail.message_id}"
    return f"{Channel.email}:sha256:{mail.fingerprint}"


def _store_attachments(settings: Settings, raw_key: str, mail: ParsedMail) -> list[str]:
    keys = []
    for attachment in mail.attachments:
        key = f"attachments/{filing.raw_ref(raw_key)}/{attachment.name}"
        objects.put(settings.raw_bucket, key, attachment.data, attachment.content_type)
        keys.append(key)
    return keys


def _reply(settings: Settings, mail: ParsedMail, answer: Answer, sender: MailSender) -> None:
    """Tell the sender the tracking number, or why the mail was not filed; never answer a program or ourselves."""
    to = mail.reply_to or mail.from_address
    if to is None or mail.automatic or mail.bounce or to == settings.mail_address.lower():
        return
    templates = reference_data.load_json("mail_replies.json")
    county = reference_data.county().name
    if answer.status == 201:
        template, values = templates["received"], {**answer.body, "county": county}
    else:
        error = answer.body["error"]
        template = templates["rejected"]
        values = {"reason": error["message"], "raw_ref": error["raw_ref"], "county": county}
    message = EmailMessage()
    message["From"] = settings.mail_address
    message["To"] = to
    message["Subject"] = template["subject"].format(**values)
    # RFC 3834: an automatic answer, so that the sender's own auto-responder does not answer it back.
    message["Auto-Submitted"] = "auto-replied"
    message["Message-ID"] = make_msgid(domain=settings.mail_address.rsplit("@", 1)[-1])
    if mail.message_id:
        message["In-Reply-To"] = message["References"] = f"<{mail.message_id}>"
    message.set_content(template["body"].format(**values))
    try:
        sender.send(message)
    except Exception as error:  # the complaint is stored either way; staff see it without the reply
        logger.error("mail reply failed", extra={"error": type(error).__name__, "status": answer.status})
        return
    logger.info("mail answered", extra={"tracking_no": answer.body.get("tracking_no"), "status": answer.status})
