"""Reading inbound mail: raw MIME bytes in, text, sender and attachments out, every character decoded right.

Chinese mail is often labelled GB2312 (or GBK) while holding characters only GBK/GB18030 has (王喆, 李堃), and
some clients put raw 8-bit GBK bytes in headers. Python's own decoders turn those into U+FFFD silently, so
headers, bodies and RFC 2231 parameters are decoded here: GB2312/GBK labels read as GB18030, adjacent RFC 2047
encoded words joined before decoding (a character may be split between two), raw 8-bit headers tried as UTF-8
then GB18030. Parsing uses the lenient compat32 policy and keeps every header's raw value.
"""

import email
import hashlib
import mimetypes
import re
from email import policy
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import ClassVar

from pydantic import BaseModel, Field

from shared.core import identity

# Labels whose text is really GB18030 (a superset of GB2312 and GBK): decode them as such.
_GB_LABELS = {"gb2312", "gbk", "x-gbk", "cp936", "ms936", "euc-cn", "x-euc-cn", "csgb2312", "gb_2312-80", "chinese"}
# Tried after the label, in order, when the label is missing, unknown or wrong.
_FALLBACKS = ("utf-8", "gb18030")
# Invisible characters that hide text from matching and review: zero-width, bidi controls, BOM, NUL.
_INVISIBLE = re.compile("[\u0000\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_SAFE_NAME = re.compile(r"[^\w.\-()\u3000-\u9fff]+")
MAX_NAME_CHARS = 100
MAX_ADDRESS_CHARS = 254


class Attachment(BaseModel):
    name: str  # safe to use in an S3 key
    original_name: str | None  # as the sender wrote it, decoded
    content_type: str
    data: bytes


class ParsedMail(BaseModel):
    message_id: str | None
    from_address: str | None
    from_name: str | None
    reply_to: str | None
    subject: str
    text: str
    attachments: list[Attachment] = Field(default_factory=list)
    # The body could not be decoded in any charset we try (its label is wrong or it is binary).
    undecodable: bool = False
    # Sent by a program: an auto-reply, a bounce, a mailing list. Never answered, so that no loop starts.
    automatic: bool = False
    bounce: bool = False
    # The receiving side's verdicts on the sender, as it stamped them on top of the mail: every
    # Authentication-Results header (topmost first) and SES's spam and virus verdicts (X-SES-*-Verdict).
    authentication_results: list[str] = Field(default_factory=list)
    spam_verdict: str | None = None
    virus_verdict: str | None = None
    # Hash of what the sender wrote (the body, not the transport headers): the same mail via SES and IMAP
    # has the same fingerprint.
    fingerprint: str


def decode_bytes(data: bytes, charset: str | None) -> str | None:
    """Text in its labelled charset, else UTF-8, else GB18030; None if none decodes it without loss."""
    label = (charset or "").strip().strip('"').lower()
    label = "gb18030" if label in _GB_LABELS else label
    for candidate in (label, *_FALLBACKS) if label else _FALLBACKS:
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return None


def _raw_bytes(value: str) -> bytes:
    # The parser keeps 8-bit header bytes as surrogate escapes.
    return value.encode("ascii", "surrogateescape")


def decode_header_value(value: str | None) -> str:
    """A header's text: RFC 2047 encoded words (joined first) and raw 8-bit bytes decoded; unfolded."""
    if not value:
        return ""
    unfolded = re.sub(r"\r?\n[ \t]+", " ", value).strip()
    if any("\udc80" <= char <= "\udcff" for char in unfolded):
        return decode_bytes(_raw_bytes(unfolded), None) or _raw_bytes(unfolded).decode("gb18030", "replace")
    try:
        # decode_header joins adjacent encoded words of one charset, so a split character is whole again.
        chunks = decode_header(unfolded)
    except Exception:  # a malformed encoded word: keep the text as written
        return unfolded
    parts = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
        else:
            parts.append(decode_bytes(chunk, charset) or chunk.decode("gb18030", "replace"))
    return "".join(parts)


def clean_text(text: str) -> str:
    """Line ends unified, invisible characters removed, outer blank space trimmed."""
    return _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


class _HtmlText(HTMLParser):
    """Visible text of an HTML body: no script, style or head; blocks on lines of their own."""

    _HIDDEN: ClassVar = {"script", "style", "head", "title", "noscript", "template"}
    _BLOCKS: ClassVar = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def safe_name(name: str | None, index: int, content_type: str) -> str:
    """A file name fit for an S3 key: no path, no control or formula lead characters, bounded length."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE_NAME.sub("_", clean_text(base)).lstrip("._-=+@")[:MAX_NAME_CHARS]
    if not base:
        base = f"attachment-{index}{mimetypes.guess_extension(content_type) or '.bin'}"
    return f"{index:02d}-{base}"


def _parameter(part: Message, name: str, header: str) -> str | None:
    """A Content-Type or Content-Disposition parameter, RFC 2231 (with continuations) or RFC 2047 decoded."""
    value = part.get_param(name, header=header)
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded text in latin-1)
        charset, _, text = value
        data = text.encode("latin-1", "surrogateescape")
        return decode_bytes(data, charset) or data.decode("gb18030", "replace")
    return decode_header_value(email.utils.unquote(value))


def _file_name(part: Message) -> str | None:
    return _parameter(part, "filename", "content-disposition") or _parameter(part, "name", "content-type")


def _header(message: Message, name: str) -> str | None:
    """The raw value of the first header of that name (compat32 keeps it as received)."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _is_automatic(message: Message) -> bool:
    auto_submitted = (_header(message, "Auto-Submitted") or "no").strip().lower()
    precedence = (_header(message, "Precedence") or "").strip().lower()
    return (
        auto_submitted != "no"
        or precedence in {"bulk", "junk", "auto_reply"}
        or any(_header(message, name) for name in ("X-Autoreply", "X-Autorespond"))
    )


def _is_bounce(message: Message, from_address: str | None) -> bool:
    local_part = (from_address or "").split("@", 1)[0].lower()
    return (
        message.get_content_type() == "multipart/report"
        or local_part in {"mailer-daemon", "postmaster"}
        or (_header(message, "Return-Path") or "").strip() == "<>"
    )


def _address(message: Message, name: str) -> tuple[str | None, str | None]:
    """(display name, address) of a From or Reply-To header; an address only if it looks like one."""
    raw = _header(message, name)
    if not raw:
        return None, None
    pairs = getaddresses([raw]) or [parseaddr(raw)]
    display, address = pairs[0]
    address = clean_text(decode_header_value(address)).lower()
    display_text = clean_text(decode_header_value(display))[:MAX_NAME_CHARS] or None
    return display_text, address if len(address) <= MAX_ADDRESS_CHARS and identity.is_valid_email(address) else None


def _message_id(message: Message) -> str | None:
    raw = clean_text(_header(message, "Message-ID") or "").strip("<>").strip()
    return raw if raw and raw.isascii() and raw.isprintable() else None


def _walk(message: Message) -> list[Message]:
    """Leaf parts in order; a forwarded message (message/rfc822) is one leaf, kept whole as an attachment."""
    if message.get_content_type() == "message/rfc822" or not message.is_multipart():
        return [message]
    leaves = []
    for part in message.get_payload():
        if isinstance(part, Message):
            leaves += _walk(part)
    return leaves


def _payload(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        return inner[0].as_bytes() if isinstance(inner, list) and inner and isinstance(inner[0], Message) else b""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def parse(raw: bytes) -> ParsedMail:
    """Read one message. Never raises for bad input: what cannot be read is flagged, attachments kept."""
    message = email.message_from_bytes(raw, policy=policy.compat32)
    from_name, from_address = _address(message, "From")
    _, reply_to = _address(message, "Reply-To")
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    undecodable = False
    for part in _walk(message):
        content_type = part.get_content_type()
        name = _file_name(part)
        is_text = content_type in ("text/plain", "text/html")
        data = _payload(part)
        if is_text and not name and part.get_content_disposition() != "attachment":
            text = decode_bytes(data, part.get_content_charset())
            if text is not None:
                (plain if content_type == "text/plain" else html).append(text)
                continue
            # Kept as a file for staff, who may know what it is.
            undecodable = True
        if data or name:
            index = len(attachments) + 1
            attachments.append(
                Attachment(
                    name=safe_name(name, index, content_type),
                    original_name=name,
                    content_type=content_type,
                    data=data,
                )
            )
    # text/plain where the sender wrote it; HTML (its alternative) only when there is no plain text.
    body = "\n\n".join(plain) if any(clean_text(t) for t in plain) else "\n\n".join(html_to_text(t) for t in html)
    body_start = raw.find(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.find(b"\n\n")
    return ParsedMail(
        message_id=_message_id(message),
        from_address=from_address,
        from_name=from_name,
        reply_to=reply_to,
        subject=clean_text(decode_header_value(_header(message, "Subject"))),
        text=clean_text(body),
        attachments=attachments,
        undecodable=undecodable,
        automatic=_is_automatic(message),
        bounce=_is_bounce(message, from_address),
        authentication_results=[
            " ".join(str(value).split())
            for key, value in message.raw_items()
            if key.lower() == "authentication-results"
        ],
        spam_verdict=_header(message, "X-SES-Spam-Verdict"),
        virus_verdict=_header(message, "X-SES-Virus-Verdict"),
        fingerprint=hashlib.sha256(raw[body_start:] if body_start >= 0 else raw).hexdigest(),
    )
