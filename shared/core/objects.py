"""S3 access: raw payloads and reports."""

from dataclasses import dataclass
from datetime import datetime

from shared.core.aws import client


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime


def put(bucket: str, key: str, body: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata or {})


def get(bucket: str, key: str) -> bytes:
    return client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def get_if_exists(bucket: str, key: str) -> bytes | None:
    try:
        return get(bucket, key)
    except client("s3").exceptions.NoSuchKey:
        return None


def list_under(bucket: str, prefix: str) -> list[StoredObject]:
    found = []
    for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found.append(StoredObject(key=item["Key"], size=item["Size"], last_modified=item["LastModified"]))
    return found


def download_url(bucket: str, key: str, seconds: int) -> str:
    return client("s3").generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=seconds)


def view_url(bucket: str, key: str, seconds: int) -> str:
    """A link that shows a stored payload as plain text, whatever content type its sender declared (no markup
    a stranger sent runs in a staff member's browser)."""
    params = {"Bucket": bucket, "Key": key, "ResponseContentType": "text/plain; charset=utf-8"}
    return client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)


# --- uploads from browsers (shared/core/uploads.py) ---


def presigned_post(bucket: str, key: str, fields: dict[str, str], conditions: list, seconds: int) -> dict:
    """A form a browser posts a file with straight to S3: {"url": ..., "fields": {...}}."""
    post: dict = client("s3").generate_presigned_post(
        Bucket=bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=seconds
    )
    return post


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str
    etag: str  # without quotes; the MD5 of the content for a single-part upload


def describe(bucket: str, key: str) -> ObjectInfo | None:
    """What S3 knows of an object, or None if there is none."""
    try:
        answer = client("s3").head_object(Bucket=bucket, Key=key)
    except client("s3").exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return ObjectInfo(
        size=int(answer["ContentLength"]),
        content_type=str(answer.get("ContentType") or ""),
        etag=str(answer.get("ETag") or "").strip('"'),
    )


def head(bucket: str, key: str) -> tuple[int, str] | None:
    """Size and content type of an object, or None if there is none."""
    info = describe(bucket, key)
    return (info.size, info.content_type) if info else None


def read_start(bucket: str, key: str, length: int) -> bytes:
    return client("s3").get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{length - 1}")["Body"].read()


def copy(bucket: str, source_key: str, target_key: str) -> None:
    client("s3").copy_object(Bucket=bucket, Key=target_key, CopySource={"Bucket": bucket, "Key": source_key})


def delete(bucket: str, key: str) -> None:
    client("s3").delete_object(Bucket=bucket, Key=key)
