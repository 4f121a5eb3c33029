"""Email intake against moto: raw MIME in the raw bucket -> S3 event on the mail queue -> complaint, files and
an answer through SES; bad mail on the quarantine list with its raw MIME kept, never lost, never raising."""

import base64
import json
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from urllib.parse import unquote_plus

import pytest
from chalice.test import Client
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from shared.core import filing, objects, quarantine, queues
from shared.core.aws import client
from shared.core.dal.cases import CaseStore
from shared.core.mailer import SesMailSender
from shared.core.models import Channel, Status
from shared.core.settings import Settings
from shared.intake import complaints, mail_inbound
from tests.support import load_service, receive_all, sqs_event

NAME = base64.b64encode("王喆".encode("gb18030")).decode()
BODY = "县市场监管局一个月检查我店四次，李堃说不交钱就停业。"


def mail(
    body: str = BODY,
    *,
    headers: str = "",
    sender: str | None = f"=?GB2312?B?{NAME}?= <wangzhe@163.com>",
    message_id: str = "<m1@163.com>",
    subject: str = "投诉乱检查",
    charset: str = "gb2312",
) -> bytes:
    encoded = base64.b64encode(body.encode("gb18030" if charset == "gb2312" else charset)).decode()
    subject_word = base64.b64encode(subject.encode()).decode()
    lines = [f"From: {sender}" if sender else "", f"Message-ID: {message_id}", f"Subject: =?UTF-8?B?{subject_word}?="]
    head = "".join(f"{line}\r\n" for line in lines if line) + headers
    return (
        f"{head}Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n"
    ).encode()


def with_attachment(text_part: str, file_name: str = "=SUM(A1)现场照片.jpg") -> bytes:
    name = "".join(f"%{byte:02X}" for byte in file_name.encode("gb18030"))
    return (
        "From: likun@126.com\r\nMessage-ID: <att@126.com>\r\nSubject: \r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        f"{text_part}"
        f"--b\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename*=gbk''{name}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n--b--\r\n"
    ).encode()


def sent_mail() -> list:
    """What SES (moto) was asked to send, parsed."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [message_from_bytes(item.raw_data.encode(), policy=policy.default) for item in backend.sent_messages]


@pytest.fixture
def ses(aws: Settings) -> Settings:
    client("ses").verify_email_identity(EmailAddress=aws.mail_address)
    return aws


# What SES puts on top of a mail it received from a sender that passed its checks.
SES_PASSED = (
    b"Authentication-Results: amazonses.com; spf=pass (spfCheck: domain designates it) smtp.mailfrom=x@163.com;"
    b"\r\n dkim=pass header.i=@163.com; dmarc=pass header.from=163.com\r\n"
    b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n"
)


def file(settings: Settings, raw: bytes, stamp: bytes = SES_PASSED) -> str:
    """Put raw mail where SES, the IMAP poller and the SMTP listener put it, with the receiving side's verdicts on
    top; file it from its S3 event."""
    key = filing.archive_raw(settings, Channel.email, stamp + raw, "message/rfc822", datetime.now(UTC))
    # S3 sends an s3:TestEvent (no records) when the notification is set up: the handler skips it too.
    bodies = [m["Body"] for m in receive_all(queues.queue_url(settings.mail_queue), client("sqs"))]
    records = [record for body in bodies for record in json.loads(body).get("Records", [])]
    # Keys in S3 events are URL-encoded, as on AWS.
    assert [unquote_plus(record["s3"]["object"]["key"]) for record in records] == [key]
    for body in bodies:
        mail_inbound.receive_event(settings, body, SesMailSender())
    return key


def received_cases(settings: Settings) -> list:
    return list(CaseStore(settings).by_status(Status.received))


def quarantined(settings: Settings) -> list:
    return quarantine.month(settings, f"{datetime.now(UTC):%Y-%m}")


def test_mail_event_through_the_handler_files_a_complaint_with_files_and_answers(ses: Settings) -> None:
    # given a GB2312-labelled mail with GBK-only characters and an attachment with an RFC 2231 name, put in S3
    text_part = (
        "--b\r\nContent-Type: text/plain; charset=GB2312\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(BODY.encode("gb18030")).decode()
        + "\r\n"
    )
    raw = SES_PASSED + with_attachment(text_part, "李堃的罚单.jpg").replace(
        b"From: likun@126.com", b"From: =?GBK?B?" + NAME.encode() + b"?= <wz@163.com>"
    )
    key = filing.archive_raw(ses, Channel.email, raw, "message/rfc822", datetime.now(UTC))
    bodies = [m["Body"] for m in receive_all(queues.queue_url(ses.mail_queue), client("sqs"))]
    # when the intake app's mail handler gets the S3 event from the mail queue
    with Client(load_service("intake").app) as test_client:
        result = test_client.lambda_.invoke("receive_mail", sqs_event(bodies)).payload
    # then no record failed, and one complaint holds the text, the sender and the file
    assert result == {"batchItemFailures": []}
    [case] = received_cases(ses)
    assert case.channel == Channel.email and case.description == BODY and case.raw_key == key
    assert case.attachments == [f"attachments/{filing.raw_ref(key)}/01-李堃的罚单.jpg"]
    assert objects.get(ses.raw_bucket, case.attachments[0]) == base64.b64decode("/9j/4AAQ")
    person = client("dynamodb").get_item(
        TableName=ses.cases_table, Key={"pk": {"S": f"CASE#{case.tracking_no}"}, "sk": {"S": "COMPLAINANT"}}
    )["Item"]
    assert (person["name"]["S"], person["email"]["S"]) == ("王喆", "wz@163.com")
    # and the sender is answered once, from our address, with the tracking number and a code that works
    [reply] = sent_mail()
    assert (reply["To"], reply["From"], reply["Auto-Submitted"]) == ("wz@163.com", ses.mail_address, "auto-replied")
    assert reply["In-Reply-To"] == "<att@126.com>"
    content = reply.get_content()
    code = re.search(r"查询码：(\d{6})", content)
    assert case.tracking_no in reply["Subject"] and code
    assert complaints.complaint_status(ses, case.tracking_no, code.group(1))["status"] == Status.received


def test_the_same_message_twice_is_one_complaint_and_one_answer(ses: Settings) -> None:
    # given one mail delivered twice (SES and the IMAP poller, or an S3 event delivered again)
    first = file(ses, mail())
    second = file(ses, b"Received: from imap\r\n" + mail())
    # then there is one complaint, one answer, nothing quarantined, and both raw copies are kept
    assert len(received_cases(ses)) == 1 and len(sent_mail()) == 1 and quarantined(ses) == []
    assert objects.get(ses.raw_bucket, first) and objects.get(ses.raw_bucket, second)


def test_a_reused_message_id_with_other_content_is_quarantined(ses: Settings) -> None:
    # given a mail, then another one claiming the same Message-ID
    file(ses, mail())
    key = file(ses, mail("完全不同的内容"))
    # then the second is quarantined (raw kept), and its sender is told why
    [entry] = quarantined(ses)
    assert (entry.code, entry.raw_key) == ("duplicate_message_id", key)
    assert len(received_cases(ses)) == 1
    assert filing.raw_ref(key) in sent_mail()[-1].get_content()


# (case, raw mail, code on the quarantine list or None for a complaint, whether the sender is answered)
BAD_MAIL = [
    ("empty body", mail("", subject=""), "empty_mail", True),
    ("only zero-width characters", mail("\u200b\u200d\ufeff", subject="\u2060"), "empty_mail", True),
    ("undecodable charset", mail("x", charset="utf-8").replace(b"eA==", b"//6AgA=="), "undecodable_text", True),
    ("binary garbage, no headers", b"\xff\xfe\x00\x80garbage\x81\xff", "undecodable_text", False),
    ("auto-reply", mail(headers="Auto-Submitted: auto-replied\r\n"), "automatic_mail", False),
    ("vacation reply", mail(headers="X-Autoreply: yes\r\nPrecedence: auto_reply\r\n"), "automatic_mail", False),
    ("bounce", mail(sender="MAILER-DAEMON@mx.163.com", headers="Return-Path: <>\r\n"), "automatic_mail", False),
    ("our own answer come back (loop)", mail(sender="tousu@hotspot.localhost"), "mail_loop", False),
    ("only an attachment", with_attachment(""), None, True),
    ("HTML only, with a script", None, None, True),
    ("missing From", mail(sender=None), None, False),
    ("From that is no address", mail(sender="王喆 <not-an-address>"), None, False),
    ("spreadsheet formulas", mail('=HYPERLINK("http://x","点我")', subject="=cmd|' /C calc'!A0"), None, True),
    ("zero-width characters in the text", mail("乱\u200b罚\u200d款"), None, True),
    ("very long body", mail("罚" * 20_000), None, True),
    ("broken encoded word in the subject", mail().replace(b"=?UTF-8?B?", b"=?UTF-8?Q?=ZZ"), None, True),
]
HTML = (
    "From: a@qq.com\r\nMessage-ID: <h@qq.com>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    "<p>交警罚款不开票</p><script>document.location='http://evil'</script>"
).encode()


@pytest.mark.parametrize(("case", "raw", "code", "answered"), BAD_MAIL, ids=[item[0] for item in BAD_MAIL])
def test_bad_mail_ends_as_a_complaint_or_on_the_quarantine_list(
    ses: Settings, case: str, raw: bytes | None, code: str | None, answered: bool
) -> None:
    # given a bad mail in the raw bucket
    # when it is filed (file() fails if anything raises)
    key = file(ses, raw if raw is not None else HTML)
    # then it is a complaint or on the quarantine list pointing at the raw MIME, which is kept
    cases, entries = received_cases(ses), quarantined(ses)
    assert objects.get(ses.raw_bucket, key)
    if code is None:
        assert len(cases) == 1 and entries == []
        assert "\u200b" not in cases[0].description and "evil" not in cases[0].description
        assert 0 < len(cases[0].description) <= mail_inbound.MAX_DESCRIPTION_CHARS
    else:
        assert cases == [] and [(e.code, e.raw_key) for e in entries] == [(code, key)]
    # and only people are answered, never a program, a missing address or ourselves
    assert len(sent_mail()) == (1 if answered else 0)


def test_formulas_stay_as_written_and_file_names_are_made_safe(ses: Settings) -> None:
    # given a mail whose attachment name starts a spreadsheet formula
    file(ses, with_attachment(""))
    # when the complaint is read
    [case] = received_cases(ses)
    # then the name is made safe for a key and the description names the file as sent
    assert case.attachments[0].endswith("/01-SUM(A1)现场照片.jpg")
    assert "=SUM(A1)现场照片.jpg" in case.description


def test_control_characters_are_dropped_from_subject_text_and_sender_name(ses: Settings) -> None:
    # given a mail whose subject hides a formula behind a control character, with controls in text and name too
    name = base64.b64encode("王\x1b喆".encode()).decode()
    raw = mail(
        "乱检查\x07\x00", subject='\x01=HYPERLINK("http://example.invalid")', sender=f"=?UTF-8?B?{name}?= <w@163.com>"
    )
    file(ses, raw)
    # then the complaint holds the text without them: the leading "=" is in sight of every later check
    [case] = received_cases(ses)
    assert case.description.startswith('=HYPERLINK("http://example.invalid")')
    assert not [char for char in case.description if ord(char) < 32 and char not in "\t\n\r"]
    person = client("dynamodb").get_item(
        TableName=ses.cases_table, Key={"pk": {"S": f"CASE#{case.tracking_no}"}, "sk": {"S": "COMPLAINANT"}}
    )["Item"]
    assert person["name"]["S"] == "王喆"


UNVERIFIED = [
    ("no verdicts at all", b""),
    ("DMARC failed", SES_PASSED.replace(b"dmarc=pass", b"dmarc=fail")),
    ("spam", SES_PASSED.replace(b"Spam-Verdict: PASS", b"Spam-Verdict: FAIL")),
    ("virus", SES_PASSED.replace(b"Virus-Verdict: PASS", b"Virus-Verdict: FAIL")),
    ("verdicts of another server", SES_PASSED.replace(b"amazonses.com;", b"mx.evil.example;")),
    # a sender's own forged header sits below the receiving server's
    (
        "forged below a failing one",
        b"Authentication-Results: amazonses.com; spf=fail smtp.mailfrom=x@163.com; dmarc=fail header.from=163.com\r\n"
        + SES_PASSED,
    ),
    ("a Reply-To elsewhere", SES_PASSED + b"Reply-To: harvest@evil.example\r\n"),
]


@pytest.mark.parametrize(("case", "stamp"), UNVERIFIED, ids=[item[0] for item in UNVERIFIED])
def test_mail_whose_sender_is_not_authenticated_is_filed_marked_and_not_answered(
    ses: Settings, case: str, stamp: bytes
) -> None:
    # given a mail the receiving side did not vouch for (or that asks for answers elsewhere)
    file(ses, mail(), stamp)
    # then it is a complaint all the same, marked for staff, and nobody is sent its tracking number and code
    [filed] = received_cases(ses)
    assert filed.sender_unverified and filed.description.endswith(BODY)
    assert sent_mail() == []


def test_an_authenticated_sender_is_answered_at_the_from_address(ses: Settings) -> None:
    # given a mail SES vouched for, with a Reply-To that is the From address itself
    file(ses, mail(headers="Reply-To: wangzhe@163.com\r\n"))
    # then it is filed unmarked and answered there
    [filed] = received_cases(ses)
    assert not filed.sender_unverified
    assert [reply["To"] for reply in sent_mail()] == ["wangzhe@163.com"]


def test_oversized_mail_is_quarantined_unparsed(ses: Settings) -> None:
    # given a deployment that takes mail up to 1 KB, and a larger mail
    small = ses.model_copy(update={"mail_max_bytes": 1024})
    key = file(small, mail("罚" * 2000))
    # then it is quarantined as too large, with the raw MIME kept, and the sender told
    assert [(e.code, e.raw_key) for e in quarantined(ses)] == [("mail_too_large", key)]
    assert len(sent_mail()) == 0  # an unparsed mail has no trusted sender address to answer
