"""Reading real MIME bytes: GB2312 labels over GBK text, split encoded words, RFC 2231 names, raw 8-bit headers."""

import base64
from urllib.parse import quote

from shared.intake.mail import decode_bytes, decode_header_value, html_to_text, parse, safe_name

BODY = "县市场监管局王喆科长一个月检查我店四次，李堃说不交钱就停业。"


def b64(text: str, charset: str = "gb18030") -> str:
    return base64.b64encode(text.encode(charset)).decode("ascii")


def encoded_word_split_inside_a_character(text: str) -> str:
    """Two GB2312-labelled encoded words whose bytes are cut in the middle of a two-byte character."""
    data = text.encode("gb18030")
    cut = 3  # 王 is two bytes: cut after the first byte of the second character
    first, second = (base64.b64encode(part).decode() for part in (data[:cut], data[cut:]))
    return f"=?GB2312?B?{first}?=\r\n =?GB2312?B?{second}?="


def gb2312_labelled_message() -> bytes:
    subject = encoded_word_split_inside_a_character("投诉王喆乱罚款")
    file_name = quote("李堃的罚款单.pdf".encode("gb18030"))
    return (
        f"From: =?GB2312?B?{b64('王喆')}?= <WangZhe@163.com>\r\n"
        "To: tousu@jingyu.gov.cn\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <20260601.abc@163.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\n"
        'Content-Type: text/plain; charset="GB2312"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{b64(BODY)}\r\n"
        "--b1\r\n"
        "Content-Type: application/pdf\r\n"
        f"Content-Disposition: attachment; filename*=GB2312''{file_name}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{base64.b64encode(b'%PDF-1.4 fine').decode()}\r\n"
        "--b1--\r\n"
    ).encode("ascii")


def test_gb2312_labelled_mail_with_gbk_only_characters_decodes_every_character() -> None:
    # given a GB2312-labelled mail holding 喆 and 堃, which GB2312 lacks, with a split encoded word and an
    # RFC 2231 file name
    raw = gb2312_labelled_message()
    # when it is parsed
    mail = parse(raw)
    # then names, subject, body and file name come out exactly
    assert mail.from_name == "王喆"
    assert mail.from_address == "wangzhe@163.com"
    assert mail.subject == "投诉王喆乱罚款"
    assert mail.text == BODY
    assert mail.message_id == "20260601.abc@163.com"
    [attachment] = mail.attachments
    assert attachment.original_name == "李堃的罚款单.pdf"
    assert attachment.name == "01-李堃的罚款单.pdf"
    assert attachment.data == b"%PDF-1.4 fine"
    assert not (mail.automatic or mail.bounce or mail.undecodable)


def test_rfc2231_continuations_and_rfc2047_quoted_file_names() -> None:
    # given an attachment whose UTF-8 name is split over RFC 2231 continuations, and one named the Outlook way
    # (an RFC 2047 encoded word inside quotes), both in a quoted-printable GBK body mail
    name = "执法记录仪视频截图.jpg".encode()
    first, second = quote(name[:10]), quote(name[10:])
    raw = (
        "From: someone@example.com\r\n"
        "Subject: =?UTF-8?B?" + b64("材料", "utf-8") + "?=\r\n"
        'Content-Type: multipart/mixed; boundary="x"\r\n\r\n'
        "--x\r\nContent-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        + "".join(f"={byte:02X}" for byte in "见附件，王喆".encode("gb18030"))
        + "\r\n--x\r\nContent-Type: image/jpeg\r\n"
        f"Content-Disposition: attachment;\r\n filename*0*=UTF-8''{first};\r\n filename*1*={second}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n/9j/\r\n"
        '--x\r\nContent-Type: application/msword; name="=?GB2312?B?' + b64("李堃.doc") + '?="\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--x--\r\n"
    ).encode("ascii")
    # when it is parsed
    mail = parse(raw)
    # then each name, the subject and the body are exact
    assert mail.subject == "材料"
    assert mail.text == "见附件，王喆"
    assert [item.original_name for item in mail.attachments] == ["执法记录仪视频截图.jpg", "李堃.doc"]


def test_raw_8bit_gbk_and_utf8_headers_are_recovered() -> None:
    # given headers written as raw 8-bit bytes, one in GBK, one in UTF-8, without any encoded word
    raw = (
        b"From: " + "李堃".encode("gbk") + b" <likun@126.com>\r\n"
        b"Subject: " + "关于王喆的投诉".encode() + b"\r\n"
        b"Content-Type: text/plain\r\n\r\n" + "正文".encode("gbk") + b"\r\n"
    )
    # when it is parsed
    mail = parse(raw)
    # then both decode right, and the unlabelled GBK body too
    assert mail.from_name == "李堃"
    assert mail.subject == "关于王喆的投诉"
    assert mail.text == "正文"


def test_html_only_body_loses_scripts_and_styles() -> None:
    # given an HTML-only mail with a script, a style and entities
    html = "<html><head><style>p{}</style></head><body><p>城管&amp;执法</p><script>alert(1)</script><br>李堃</body>"
    raw = ("Content-Type: text/html; charset=utf-8\r\n\r\n" + html).encode()
    # when it is parsed
    mail = parse(raw)
    # then only the visible text remains, a line per block
    assert mail.text == "城管&执法\n李堃"
    assert "alert" not in html_to_text(html)


def test_charset_fallbacks_and_what_cannot_be_decoded() -> None:
    # given text in an unknown label, a wrong label, and bytes that are no charset at all
    # then the label is tried, then UTF-8, then GB18030, and only undecodable bytes give None
    assert decode_bytes("王喆".encode(), "x-no-such-charset") == "王喆"
    assert decode_bytes("王喆".encode("gbk"), "us-ascii") == "王喆"
    assert decode_bytes("李堃".encode("gb18030"), "GB_2312-80") == "李堃"
    assert decode_bytes(b"\xff\xfe\x80\x80", "utf-8") is None
    # and a broken encoded word is kept as written rather than raising
    assert decode_header_value("=?GB2312?B?a?= 李") == "=?GB2312?B?a?= 李"


def test_undecodable_body_is_kept_as_a_file_and_flagged() -> None:
    # given a mail whose only text part decodes in no charset
    raw = b"From: a@b.cn\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xff\xfe\x80\x80\r\n"
    # when it is parsed
    mail = parse(raw)
    # then the text is empty, the part is kept as an attachment, and the mail is flagged
    assert mail.undecodable and mail.text == ""
    assert mail.attachments[0].data.startswith(b"\xff\xfe\x80\x80")


def test_zero_width_characters_are_removed_and_file_names_made_safe() -> None:
    # given invisible characters in a name and hostile file names
    head = "From: 王\u200b喆\u2060 <w@x.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    raw = (head + "\ufeff投\u200d诉\r\n").encode()
    mail = parse(raw)
    # then the text has none of them
    assert (mail.from_name, mail.text) == ("王喆", "投诉")
    # and names cannot leave their folder, start a spreadsheet formula or be empty
    assert safe_name("../../etc/passwd", 1, "text/plain") == "01-passwd"
    assert safe_name('=HYPERLINK("evil")&1.csv', 2, "text/csv") == "02-HYPERLINK(_evil_)_1.csv"
    assert safe_name(None, 3, "image/png") == "03-attachment-3.png"


def test_auto_replies_and_bounces_are_recognised() -> None:
    # given an auto-reply and a delivery status notification
    auto = parse(b"From: a@b.cn\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway\r\n")
    bounce = parse(
        b"From: MAILER-DAEMON@mx.example.com\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nDelivery failed\r\n--r--\r\n"
    )
    plain = parse(b"From: a@b.cn\r\nAuto-Submitted: no\r\n\r\nHello\r\n")
    # then the first two are automatic mail, the third is not
    assert auto.automatic and bounce.bounce
    assert not (plain.automatic or plain.bounce)


def test_the_fingerprint_ignores_transport_headers() -> None:
    # given the same mail as SES and as IMAP deliver it (different Received headers)
    body = b"Subject: x\r\n\r\nsame text\r\n"
    # then both have one fingerprint
    assert parse(b"Received: from a\r\n" + body).fingerprint == parse(b"Received: from b\r\n" + body).fingerprint
