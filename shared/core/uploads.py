"""Files a complainant attaches: sent by the browser straight to S3, claimed when the complaint is stored.

The page asks for an upload slot and gets a presigned POST for one key under `uploads/quarantine/<random>/`,
limited in size and (with JavaScript) to the exact content type announced. Nothing there belongs to a
complaint yet. When a complaint names such keys, each is checked again (moto does not enforce the POST
policy, and without JavaScript the person picks the type), copied to `attachments/<raw ref>/` and removed
from quarantine. Uploads no complaint claims stay under the quarantine prefix, where a lifecycle rule on the
bucket can expire them.
"""

import re
import unicodedata
import uuid
from pathlib import PurePath

from pydantic import BaseModel

from shared.core import objects
from shared.core.errors import ApiError, FieldError
from shared.core.settings import Settings

QUARANTINE_PREFIX = "uploads/quarantine/"
_KEY = re.compile(r"uploads/quarantine/[0-9a-f]{32}/[A-Za-z0-9_-]{1,60}\.[a-z]{3,4}")

# Allowed types: their file extension and how such files begin (checked on what was really stored).
TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "image/jpeg": (".jpg", (b"\xff\xd8\xff",)),
    "image/png": (".png", (b"\x89PNG\r\n\x1a\n",)),
    "image/gif": (".gif", (b"GIF87a", b"GIF89a")),
    "image/webp": (".webp", (b"RIFF",)),
    "application/pdf": (".pdf", (b"%PDF-",)),
}
TYPE_MESSAGE = "只能上传 JPG、PNG、GIF、WebP 照片或 PDF 文件"


class UploadSlot(BaseModel):
    """Where and how to post one file: a multipart POST to `url` with `fields`, then the file as `file`."""

    key: str
    url: str
    fields: dict[str, str]
    max_bytes: int
    expires_in: int


def safe_name(filename: str, extension: str) -> str:
    """A key-safe file name: letters, digits, `_` and `-` of the original stem, and the given extension."""
    stem = unicodedata.normalize("NFKC", PurePath(filename.replace("\\", "/")).stem)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60]
    return (stem or "file") + extension


def check_type_and_size(settings: Settings, content_type: str, size: int) -> None:
    if content_type not in TYPES:
        raise ApiError(
            422,
            "unsupported_upload_type",
            TYPE_MESSAGE,
            [FieldError(field="content_type", code="unsupported_upload_type", message=TYPE_MESSAGE)],
        )
    if not 0 < size <= settings.upload_max_bytes:
        message = f"文件不能为空，也不能超过 {settings.upload_max_bytes // (1024 * 1024)} MB"
        raise ApiError(
            422, "upload_too_large", message, [FieldError(field="size", code="invalid_size", message=message)]
        )


def presign(settings: Settings, filename: str, content_type: str | None, redirect: str | None = None) -> UploadSlot:
    """One upload slot. With a content type, only that type may be posted; without one (the plain HTML form,
    where the person picks the type in a field of the form) any type, checked when the file is claimed.
    With `redirect`, S3 answers the browser's POST with a redirect there (the key added as `key=`)."""
    extension = TYPES[content_type][0] if content_type else ".bin"
    key = f"{QUARANTINE_PREFIX}{uuid.uuid4().hex}/{safe_name(filename, extension)}"
    fields: dict[str, str] = {}
    conditions: list = [["content-length-range", 1, settings.upload_max_bytes]]
    if content_type:
        fields["Content-Type"] = content_type
        conditions.append({"Content-Type": content_type})
    else:
        conditions.append(["starts-with", "$Content-Type", ""])
    if redirect:
        fields["success_action_redirect"] = redirect
        conditions.append({"success_action_redirect": redirect})
    post = objects.presigned_post(settings.raw_bucket, key, fields, conditions, settings.upload_url_seconds)
    return UploadSlot(
        key=key,
        url=post["url"],
        fields=post["fields"],
        max_bytes=settings.upload_max_bytes,
        expires_in=settings.upload_url_seconds,
    )


def is_upload_key(key: str) -> bool:
    return bool(_KEY.fullmatch(key))


def claim(settings: Settings, keys: list[str], folder: str) -> list[str]:
    """Check every uploaded file, then copy each to `attachments/<folder>/`: the new keys, in order.

    Raises a 422 naming each bad entry (`attachments.<n>`) before anything is copied."""
    keys = list(dict.fromkeys(keys))  # the same file named twice is attached once
    if len(keys) > settings.upload_max_files:
        message = f"最多上传 {settings.upload_max_files} 个附件"
        raise ApiError(
            422, "too_many_files", message, [FieldError(field="attachments", code="too_many_files", message=message)]
        )
    problems = []
    for index, key in enumerate(keys):
        problem = _problem(settings, key)
        if problem is not None:
            problems.append(FieldError(field=f"attachments.{index}", code=problem[0], message=problem[1]))
    if problems:
        raise ApiError(422, "invalid_attachments", "附件有误，请按提示重新上传", problems)
    targets = []
    for index, key in enumerate(keys, start=1):
        target = f"attachments/{folder}/{index:02d}-{key.rsplit('/', 1)[-1]}"
        objects.copy(settings.raw_bucket, key, target)
        targets.append(target)
    return targets


def discard(settings: Settings, keys: list[str]) -> None:
    """Remove claimed uploads from quarantine (their copies under attachments/ stay)."""
    for key in dict.fromkeys(keys):
        objects.delete(settings.raw_bucket, key)


def _problem(settings: Settings, key: str) -> tuple[str, str] | None:
    if not is_upload_key(key):
        return "invalid_upload_key", "附件不是通过本页面上传的，请重新上传"
    found = objects.head(settings.raw_bucket, key)
    if found is None:
        return "upload_missing", "附件没有上传成功或已过期，请重新上传"
    size, content_type = found
    if size > settings.upload_max_bytes:
        return "upload_too_large", f"附件超过 {settings.upload_max_bytes // (1024 * 1024)} MB"
    content_type = content_type.split(";", 1)[0].strip().lower()
    if content_type not in TYPES:
        return "unsupported_upload_type", TYPE_MESSAGE
    start = objects.read_start(settings.raw_bucket, key, 16)
    if not start.startswith(TYPES[content_type][1]):
        return "upload_type_mismatch", "附件内容与所选文件类型不符，请重新选择类型后上传"
    return None
