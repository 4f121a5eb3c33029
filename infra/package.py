"""Build what gets deployed: a SAM template and zip per service, and the template of the shared resources.

`make package` runs `python -m infra.package [BUILD_DIR] [--stage STAGE]` and writes
- BUILD_DIR/<svc>/sam.json and deployment.zip, from `chalice package` in services/<svc>;
- BUILD_DIR/resources.json: the tables, queues and buckets of `infra/resources.py`. Deploy it first.

Chalice needs help in three places (DESIGN.md, section 7):
- it silently drops local packages from requirements.txt, so `shared` is copied into services/<svc>/vendor/,
  which Chalice puts in the zip as it is;
- it never sets ReportBatchItemFailures on SQS event sources, so the template is patched here;
- it only derives IAM policies from app.py, so each stage names a written policy file instead.

Per-stage settings live in services/<svc>/.chalice/config.json. Tracing is off in every stage because AWS's
China regions have no X-Ray for Lambda; a stage deployed where X-Ray exists can set `"xray": true` and
POWERTOOLS_TRACE_DISABLED to "false", and allow xray:PutTraceSegments and xray:PutTelemetryRecords in its
policy file.

Secrets are not in config.json: each becomes a NoEcho template parameter (see SECRETS), given at deploy time.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from infra import requirements
from infra.resources import (
    DLQ_RETENTION_SECONDS,
    MAIL_PREFIX,
    MAX_RECEIVE_COUNT,
    VISIBILITY_TIMEOUT_SECONDS,
    buckets,
    dead_letter_queue,
    queues,
    tables,
)
from shared.core import uploads
from shared.core.settings import Settings

ROOT = requirements.ROOT
SERVICES = requirements.SERVICES

# Environment variable -> template parameter, for settings whose default only suits the local stack.
SECRETS = {"CONTACT_HASH_KEY": "ContactHashKey"}

# What must never appear in a template: a partition's ARN prefix or endpoint written out (China is aws-cn
# and amazonaws.com.cn); ${AWS::Partition} and ${AWS::URLSuffix} say it. Service principals such as
# lambda.amazonaws.com are the same in every partition.
HARD_CODED_PARTITION = re.compile(r"arn:aws[a-z-]*:|https?://[^\"]*amazonaws\.com")


def default_settings() -> Settings:
    # The defaults, not this shell's environment: the names in config.json are the defaults too.
    return Settings.model_construct()


def vendor_shared(service_dir: Path) -> None:
    """Replace the service's vendor/shared with a fresh copy of the shared package, data files included."""
    target = service_dir / "vendor" / "shared"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "shared", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


# The phase summary PDF (shared/reporting/summary_pdf.py) embeds a CJK font, which Lambda's runtime does not have: the
# services that render it get the font of the build machine's settings (REPORT_FONT_PATH, REPORT_FONT_INDEX;
# default Debian's fonts-noto-cjk) in vendor/fonts/, at the root of the zip beside `shared`. The collection is
# copied whole (26 MB, about 20 MB zipped): extracting the SC face with fontTools saves little and takes a minute.
FONT_SERVICES = ("reporting",)
FONT_DIR = "fonts"


def vendor_font(service_dir: Path, settings: Settings) -> dict[str, str]:
    """Copy the report font into vendor/fonts/; returns the environment that points the functions at it."""
    source = Path(settings.report_font_path)
    if not source.is_file():
        raise SystemExit(f"report font {source} not found: install fonts-noto-cjk or set REPORT_FONT_PATH")
    target = service_dir / "vendor" / FONT_DIR
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copyfile(source, target / source.name)
    # Relative: shared.summary_pdf resolves it from the directory holding `shared` (/var/task on Lambda).
    return {"REPORT_FONT_PATH": f"{FONT_DIR}/{source.name}", "REPORT_FONT_INDEX": str(settings.report_font_index)}


def set_environment(template: dict[str, Any], variables: dict[str, str]) -> None:
    for function in functions(template).values():
        function["Properties"].setdefault("Environment", {}).setdefault("Variables", {}).update(variables)


def chalice_package(service_dir: Path, out_dir: Path, stage: str) -> None:
    shutil.rmtree(out_dir, ignore_errors=True)
    # Chalice reuses a zip cached under the hash of requirements.txt, app.py and vendor/, whatever built it
    # (a hand-run `chalice deploy` leaves one with botocore inside), and never deletes old ones.
    shutil.rmtree(service_dir / ".chalice" / "deployments", ignore_errors=True)
    env = dict(os.environ)
    # requirements.txt already holds the whole closure less what Lambda provides; without this, pip would
    # download those again (aws-xray-sdk requires botocore) and Chalice would put them in the zip.
    env["PIP_NO_DEPS"] = "1"
    # Chalice wants a region, but the template it writes takes the region and partition from the stack.
    env.setdefault("AWS_DEFAULT_REGION", "cn-northwest-1")
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run([str(chalice), "package", "--stage", stage, str(out_dir)], cwd=service_dir, env=env, check=True)


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def report_batch_item_failures(template: dict[str, Any]) -> int:
    """Let SQS handlers report partial batch failures; returns how many event sources were set."""
    count = 0
    for function in functions(template).values():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                event["Properties"]["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
                count += 1
    return count


def add_secret_parameters(template: dict[str, Any]) -> None:
    """Give every function its secrets from NoEcho parameters, so that they live in no file."""
    parameters = template.setdefault("Parameters", {})
    for variable, parameter in SECRETS.items():
        parameters[parameter] = {"Type": "String", "NoEcho": True, "MinLength": 16}
        for function in functions(template).values():
            environment = function["Properties"].setdefault("Environment", {}).setdefault("Variables", {})
            environment[variable] = {"Ref": parameter}


def check_partition_neutral(path: Path) -> None:
    found = HARD_CODED_PARTITION.search(path.read_text(encoding="utf-8"))
    if found:
        raise SystemExit(f"{path} hard-codes a partition ({found.group()!r}); it would not deploy in every partition")


def _logical_id(name: str, kind: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name) if part) + kind


def resources_template(settings: Settings) -> dict[str, Any]:
    """CloudFormation template of the tables, queues (each with its dead-letter queue) and buckets."""
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}

    for table in tables(settings):
        table_id = _logical_id(table["TableName"], "Table")
        properties = {key: table[key] for key in ("TableName", "BillingMode", "KeySchema", "AttributeDefinitions")}
        if "GlobalSecondaryIndexes" in table:
            properties["GlobalSecondaryIndexes"] = table["GlobalSecondaryIndexes"]
        if "TimeToLiveAttribute" in table:
            properties["TimeToLiveSpecification"] = {"AttributeName": table["TimeToLiveAttribute"], "Enabled": True}
        properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
        # Case records outlive any stack: deleting or replacing the stack must not delete them.
        resources[table_id] = {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": properties,
        }
        outputs[table_id] = {"Value": {"Ref": table_id}}
        outputs[f"{table_id}Arn"] = {"Value": {"Fn::GetAtt": [table_id, "Arn"]}}

    for queue in queues(settings):
        queue_id = _logical_id(queue, "Queue")
        dlq_id = _logical_id(dead_letter_queue(queue), "Queue")
        resources[dlq_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": dead_letter_queue(queue), "MessageRetentionPeriod": DLQ_RETENTION_SECONDS},
        }
        resources[queue_id] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": queue,
                "VisibilityTimeout": VISIBILITY_TIMEOUT_SECONDS,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
                    "maxReceiveCount": MAX_RECEIVE_COUNT,
                },
            },
        }
        for logical_id in (queue_id, dlq_id):
            outputs[f"{logical_id}Url"] = {"Value": {"Ref": logical_id}}
            outputs[f"{logical_id}Arn"] = {"Value": {"Fn::GetAtt": [logical_id, "Arn"]}}

    for bucket in buckets(settings):
        bucket_id = _logical_id(bucket, "Bucket")
        resources[bucket_id] = {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": bucket,
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            },
        }
        # Complainants' payloads and reports travel over TLS only.
        resources[f"{bucket_id}Policy"] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": bucket_id},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [
                                {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}"},
                                {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/*"},
                            ],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        }
        outputs[bucket_id] = {"Value": {"Ref": bucket_id}}
        outputs[f"{bucket_id}Arn"] = {"Value": {"Fn::GetAtt": [bucket_id, "Arn"]}}

    _notify_mail_queue(settings, resources)
    _expire_unclaimed_uploads(settings, resources)
    _allow_ses_to_write_mail(settings, resources)

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "hotspot: tables, queues and buckets shared by the intake, routing and reporting services",
        # AWS's China regions have no SES: there the IMAP poller reads the county's mailbox instead.
        "Conditions": {HAS_SES: {"Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::Partition"}, "aws-cn"]}]}},
        "Resources": resources,
        "Outputs": outputs,
    }


HAS_SES = "HasSesReceiving"
UNCLAIMED_UPLOAD_DAYS = 2


def _expire_unclaimed_uploads(settings: Settings, resources: dict[str, Any]) -> None:
    """Uploads never referenced by a stored complaint are deleted: nobody asked us to keep them."""
    bucket = resources[_logical_id(settings.raw_bucket, "Bucket")]
    bucket["Properties"]["LifecycleConfiguration"] = {
        "Rules": [
            {
                "Id": "ExpireUnclaimedUploads",
                "Status": "Enabled",
                "Prefix": uploads.QUARANTINE_PREFIX,
                "ExpirationInDays": UNCLAIMED_UPLOAD_DAYS,
            }
        ]
    }


def _allow_ses_to_write_mail(settings: Settings, resources: dict[str, Any]) -> None:
    """Where SES exists, it may write received mail under the mail prefix of the raw bucket."""
    bucket_id = _logical_id(settings.raw_bucket, "Bucket")
    statements = resources[f"{bucket_id}Policy"]["Properties"]["PolicyDocument"]["Statement"]
    statements.append(
        {
            "Fn::If": [
                HAS_SES,
                {
                    "Sid": "SesWritesReceivedMail",
                    "Effect": "Allow",
                    "Principal": {"Service": "ses.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{settings.raw_bucket}/{MAIL_PREFIX}*"},
                    "Condition": {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}},
                },
                {"Ref": "AWS::NoValue"},
            ]
        }
    )


def ses_mail_template(settings: Settings) -> dict[str, Any]:
    """Global regions only (China has no SES): mail to the published address is written as raw MIME
    under the mail prefix, where the mail queue picks it up.

    Deploy it after the resources stack. A receipt rule set takes effect once activated
    (`aws ses set-active-receipt-rule-set`), which CloudFormation cannot do, and the domain's MX record
    must point at SES's inbound endpoint of the region.
    """
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "hotspot: SES receiving for the complaint mailbox (global AWS regions)",
        "Resources": {
            "MailReceiptRuleSet": {"Type": "AWS::SES::ReceiptRuleSet"},
            "MailReceiptRule": {
                "Type": "AWS::SES::ReceiptRule",
                "Properties": {
                    "RuleSetName": {"Ref": "MailReceiptRuleSet"},
                    "Rule": {
                        "Enabled": True,
                        "ScanEnabled": True,
                        "Recipients": [settings.mail_address],
                        "Actions": [{"S3Action": {"BucketName": settings.raw_bucket, "ObjectKeyPrefix": MAIL_PREFIX}}],
                    },
                },
            },
        },
        "Outputs": {"MailReceiptRuleSet": {"Value": {"Ref": "MailReceiptRuleSet"}}},
    }


def _notify_mail_queue(settings: Settings, resources: dict[str, Any]) -> None:
    """Raw mail put under the mail prefix -> an S3 event on the mail queue (the intake's receive_mail)."""
    bucket_id, queue_id = _logical_id(settings.raw_bucket, "Bucket"), _logical_id(settings.mail_queue, "Queue")
    bucket_arn = {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{settings.raw_bucket}"}
    resources[f"{queue_id}Policy"] = {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "RawMailEvents",
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
                        "Condition": {"ArnEquals": {"aws:SourceArn": bucket_arn}},
                    }
                ],
            },
        },
    }
    bucket = resources[bucket_id]
    # S3 checks that it may send to the queue when the notification is set.
    bucket["DependsOn"] = [f"{queue_id}Policy"]
    bucket["Properties"]["NotificationConfiguration"] = {
        "QueueConfigurations": [
            {
                "Event": "s3:ObjectCreated:*",
                "Queue": {"Fn::GetAtt": [queue_id, "Arn"]},
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": MAIL_PREFIX}]}},
            }
        ]
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def package_service(service: str, build_dir: Path, stage: str) -> str:
    """Package one service into build_dir/<service>; returns a line saying what was built."""
    service_dir = ROOT / "services" / service
    out_dir = build_dir / service
    vendor_shared(service_dir)
    font_environment = vendor_font(service_dir, Settings()) if service in FONT_SERVICES else {}
    chalice_package(service_dir, out_dir, stage)
    sam_path = out_dir / "sam.json"
    template = json.loads(sam_path.read_text(encoding="utf-8"))
    patched = report_batch_item_failures(template)
    add_secret_parameters(template)
    set_environment(template, font_environment)
    write_json(sam_path, template)
    check_partition_neutral(sam_path)
    size_mb = (out_dir / "deployment.zip").stat().st_size / 1e6
    return (
        f"{out_dir}: deployment.zip {size_mb:.1f} MB, {len(functions(template))} functions, "
        f"{patched} SQS event sources set to ReportBatchItemFailures"
    )


def build(build_dir: Path, stage: str) -> list[str]:
    """Package every service and write the resources template; returns what was built, one line each."""
    stale = requirements.stale_services()
    if stale:
        raise SystemExit(f"requirements.txt out of date for {', '.join(stale)}: run `make requirements`")
    build_dir.mkdir(parents=True, exist_ok=True)
    built = []
    for service in SERVICES:
        started = time.monotonic()
        line = package_service(service, build_dir, stage)
        built.append(f"{line} ({time.monotonic() - started:.0f} s)")
    resources_path = build_dir / "resources.json"
    template = resources_template(default_settings())
    write_json(resources_path, template)
    check_partition_neutral(resources_path)
    write_json(build_dir / "mail-ses.json", ses_mail_template(default_settings()))
    built.append(f"{resources_path}: {len(template['Resources'])} resources")
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir", nargs="?", type=Path, default=ROOT / "build", help="default: build/")
    parser.add_argument("--stage", default="dev", help="Chalice stage whose config is packaged (default: dev)")
    args = parser.parse_args(argv)
    for line in build(args.build_dir.resolve(), args.stage):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
