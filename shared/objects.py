"""S3 access: raw payloads and reports."""

from dataclasses import dataclass
from datetime import datetime

from shared.aws import client


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime


def put(bucket: str, key: str, body: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
    client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata or {})


def get(bucket: str, key: str) -> bytes:
    return client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def list_under(bucket: str, prefix: str) -> list[StoredObject]:
    found = []
    for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found.append(StoredObject(key=item["Key"], size=item["Size"], last_modified=item["LastModified"]))
    return found


def download_url(bucket: str, key: str, seconds: int) -> str:
    return client("s3").generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=seconds)
