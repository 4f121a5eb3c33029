"""`hotspot`, the project's command line: the local stack, tokens and staff, the classifier, DLQ redrive, and the
maintenance runs (reminders, deadlines, statistics, hotspots, reports) on demand."""

import argparse
import getpass
import ipaddress
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from infra.resources import dead_letter_queue
from shared.core.auth import Principal, Role
from shared.core.aws import client
from shared.core.errors import ApiError
from shared.core.observability import logger, record
from shared.core.settings import SecretsNotConfigured, Settings, get_settings

T = TypeVar("T")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    exit_code: int = args.command(args)
    return exit_code


def _target(command: argparse.ArgumentParser) -> None:
    """Where a maintenance command works: the running local stack, with --stage a deployed stage (credentials from
    the usual AWS chain), or with --aws the configured account as the environment names its resources."""
    where = command.add_mutually_exclusive_group()
    where.add_argument("--stage", help="a deployed stage (infra/stages/<stage>.json) rather than the local stack")
    where.add_argument("--aws", action="store_true", help="in the configured AWS account rather than the local stack")
    command.add_argument("--moto-port", type=int, default=5000, help="port of the local stack's moto server")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotspot", description="行政执法热点追踪: local stack and tools")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the local stack (moto, the three apps, queues and schedules)")
    run.add_argument("--host", default="127.0.0.1", help="loopback address of the HTTP gateway")
    run.add_argument("--port", type=int, default=8000, help="port of the HTTP gateway")
    run.add_argument("--moto-port", type=int, default=5000, help="port of the moto server")
    run.add_argument("--fire-schedules-now", action="store_true", help="fire every schedule once at start-up")
    run.add_argument("--smtp-port", type=int, default=2525, help="port of the SMTP listener that takes mail in")
    run.add_argument(
        "--campaign-now",
        action="store_true",
        help="move the campaign's dates so that it is running today (CAMPAIGN_SHIFT_DAYS; `make run` and the demo)",
    )
    run.add_argument("--pollers", type=int, default=3, help="concurrent batches per SQS queue, as Lambda runs them")
    run.set_defaults(command=_run)

    classify = commands.add_parser(
        "classify", help='classify JSON lines {"text": ..., "respondent": ...} from stdin, one JSON line out each'
    )
    classify.set_defaults(command=_classify)

    evaluate = commands.add_parser(
        "evaluate", help="the classifier's category and department accuracy on the held-out labelled set"
    )
    evaluate.set_defaults(command=_evaluate)

    redrive_parser = commands.add_parser("redrive", help="move the messages of QUEUE-dlq back to QUEUE")
    redrive_parser.add_argument("queue", metavar="QUEUE")
    _target(redrive_parser)
    redrive_parser.set_defaults(command=_redrive)

    quarantined = commands.add_parser("quarantine", help="payloads intake could not file: list them, replay one")
    quarantine_commands = quarantined.add_subparsers(required=True, metavar="ACTION")
    month_help = "month of receipt, yyyy-mm in UTC as the list shards it (default: this month)"
    listed = quarantine_commands.add_parser("list", help="a month's quarantined payloads: reference, channel, reason")
    listed.add_argument("--month", type=_month, help=month_help)
    _target(listed)
    listed.set_defaults(command=_quarantine_list)
    replayed = quarantine_commands.add_parser(
        "replay", help="file a quarantined payload again through its channel's intake, once (after the fix)"
    )
    replayed.add_argument("reference", metavar="REFERENCE", help="the payload's reference, as the list shows it")
    replayed.add_argument("--month", type=_month, help=month_help)
    _target(replayed)
    replayed.set_defaults(command=_quarantine_replay)

    roles = [role.value for role in Role]
    token = commands.add_parser("token", help="print a development token of the running local stack's issuer")
    token.add_argument("--role", required=True, choices=roles)
    token.add_argument("--dept", help="department code (dept_head and dept_officer only)")
    token.add_argument("--name", default="开发人员", help="the name the token shows")
    token.add_argument("--moto-port", type=int, default=5000, help="port of the local stack's moto server")
    token.set_defaults(command=_token)

    staff = commands.add_parser("staff", help="staff accounts of the system's own token issuer")
    staff_commands = staff.add_subparsers(required=True, metavar="ACTION")
    add = staff_commands.add_parser(
        "add", help="create an account (password from a prompt or stdin) and print its TOTP URI once"
    )
    add.add_argument("username", metavar="USERNAME")
    add.add_argument("--role", required=True, choices=roles)
    add.add_argument("--dept", help="department code (dept_head and dept_officer only)")
    add.add_argument("--name", help="the staff member's name (default: the username)")
    add.add_argument("--local", action="store_true", help="in the running local stack rather than the AWS account")
    add.add_argument("--moto-port", type=int, default=5000, help="port of the local stack's moto server")
    add.set_defaults(command=_staff_add)
    for action, summary in (
        ("deactivate", "refuse the account's logins and end every token it holds"),
        ("reactivate", "let a deactivated account log in again"),
        ("reset-password", "set a new password (prompt or stdin), end the account's tokens, forget failed logins"),
    ):
        change = staff_commands.add_parser(action, help=summary)
        change.add_argument("username", metavar="USERNAME")
        change.add_argument("--local", action="store_true", help="in the running local stack, not the AWS account")
        change.add_argument("--moto-port", type=int, default=5000, help="port of the local stack's moto server")
        change.set_defaults(command=_staff_change, action=action)

    remind = commands.add_parser("remind", help="run the deadline reminders and escalations as of a given time")
    remind.add_argument("--at", required=True, type=_moment, help="ISO time; without an offset, Asia/Shanghai")
    remind.add_argument("--dry-run", action="store_true", help="print what would be sent; queue and record nothing")
    _target(remind)
    remind.set_defaults(command=_remind)

    recompute = commands.add_parser(
        "recompute-deadlines",
        help="count provisional deadlines again by the official calendars now present (also every reminder run)",
    )
    recompute.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    _target(recompute)
    recompute.set_defaults(command=_recompute_deadlines)

    move = commands.add_parser(
        "move-due-entries",
        help="once after upgrading: move the due index's day shards (DUE#yyyy-mm-dd) to month shards",
    )
    _target(move)
    move.set_defaults(command=_move_due_entries)

    listing = commands.add_parser(
        "move-hotspot-listing",
        help="once after upgrading: list hotspots in one index partition (HOTSPOTS, status in the sort key)",
    )
    _target(listing)
    listing.set_defaults(command=_move_hotspot_listing)

    campaign_items = commands.add_parser(
        "move-campaign-items",
        help="once after upgrading: move the material submissions and the survey list to the campaign partition",
    )
    _target(campaign_items)
    campaign_items.set_defaults(command=_move_campaign_items)

    keys = commands.add_parser("keys", help="the own token issuer's signing keys")
    keys_commands = keys.add_subparsers(required=True, metavar="ACTION")
    rotate = keys_commands.add_parser("rotate", help="new current key; the current one stays valid as previous")
    rotated_where = rotate.add_mutually_exclusive_group()
    rotated_where.add_argument("--local", action="store_true", help="in the running local stack, not the AWS account")
    rotated_where.add_argument("--stage", help="a deployed stage (infra/stages/<stage>.json): its signing-key secret")
    rotate.add_argument("--moto-port", type=int, default=5000, help="port of the local stack's moto server")
    rotate.set_defaults(command=_keys_rotate)

    rebuild = commands.add_parser(
        "rebuild-stats", help="recount the statistics from the cases and compare with (or repair) the live counters"
    )
    rebuild.add_argument("--check", action="store_true", help="only report the differences; write nothing")
    _target(rebuild)
    rebuild.set_defaults(command=_rebuild_stats)

    detect = commands.add_parser("detect-hotspots", help="run the hourly hotspot detection as of a given time")
    detect.add_argument("--at", type=_moment, help="ISO time; without an offset, Asia/Shanghai (default: now)")
    _target(detect)
    detect.set_defaults(command=_detect_hotspots)

    demo = commands.add_parser("demo", help="fill the running local stack (`make run`) with a campaign running now")
    demo.add_argument("--size", type=int, default=300, help="complaints of the plan (default 300), besides a hotspot")
    demo.add_argument("--gateway", default="http://127.0.0.1:8000", help="the local stack's gateway")
    demo.add_argument("--moto-port", type=int, default=5000, help="port of the local stack's moto server")
    demo.add_argument("--smtp-port", type=int, default=2525, help="port of the local stack's SMTP listener")
    demo.set_defaults(command=_demo)

    model = commands.add_parser("model", help="the classifier's statistical model: versions, retraining, rollback")
    model_commands = model.add_subparsers(required=True, metavar="ACTION")
    listing = model_commands.add_parser("list", help="the model in use, the stored versions, the latest evaluations")
    _target(listing)
    listing.set_defaults(command=_model_list)
    retrain = model_commands.add_parser("retrain", help="retrain from the reference set and the staff corrections now")
    _target(retrain)
    retrain.set_defaults(command=_model_retrain)
    use = model_commands.add_parser("use", help="put a stored model version in use (a rollback)")
    use.add_argument("version", metavar="VERSION")
    _target(use)
    use.set_defaults(command=_model_use)

    report = commands.add_parser("report", help="make the reports of a period now (county and every department)")
    report.add_argument(
        "--period", help="period key, e.g. campaign:2026, phase:2026:2, week:2026-W21 (default: campaign)"
    )
    report.add_argument("--scope", default="all", help="county, a department code, or all (default)")
    report.add_argument("--formats", default="xlsx,csv,json,pdf", help="comma-separated (default: every format)")
    _target(report)
    report.set_defaults(command=_report)
    return parser


# --- run ------------------------------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _run(args: argparse.Namespace) -> int:
    if not _is_loopback(args.host):
        # The gateway has no TLS and the local token issuer is for development only.
        print(f"hotspot run: refusing to listen on {args.host}; use a loopback address", file=sys.stderr)
        return 2
    if args.campaign_now:
        _run_campaign_now()
    from infra import local_stack  # chalice and moto are development dependencies

    # Warnings from libraries, and a line per request and handler invocation from the local stack.
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    local_stack.log.setLevel(logging.INFO)
    # The product's lines are written once, as JSON, as on Lambda: not again through the handler just added (the
    # logger was made at import, before it, so Powertools could not keep its lines from reaching it).
    logging.getLogger(logger.name).propagate = False
    try:
        local_stack.run(args.host, args.port, args.moto_port, args.fire_schedules_now, args.smtp_port, args.pollers)
    except (RuntimeError, OSError) as error:
        print(f"hotspot run: {error}", file=sys.stderr)
        return 1
    return 0


# --- classify -------------------------------------------------------------------------------------------------


class ClassifyRequest(BaseModel):
    # Other fields are ignored, so labelled sample files can be piped in as they are.
    model_config = ConfigDict(extra="ignore")

    text: str = Field(pattern=r"\S")
    respondent: str | None = None


def _write_line(payload: dict[str, Any]) -> None:
    # UTF-8 whatever the locale says; one flushed line per input line, so it works in a pipe.
    sys.stdout.buffer.write(json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


def _line_error(error: ValidationError) -> dict[str, str]:
    if any(detail["type"] == "json_invalid" for detail in error.errors()):
        return {"code": "invalid_json", "message": "这一行不是有效的 JSON"}
    return {
        "code": "invalid_input",
        "message": "需要 JSON 对象：text 为非空字符串，respondent 为字符串或省略",
    }


def _classify(args: argparse.Namespace) -> int:
    from shared.core.classifier import classify  # only this command needs the classifier and its data

    all_valid = True
    for number, line in enumerate(sys.stdin.buffer, start=1):
        if not line.strip():
            continue
        try:
            request = ClassifyRequest.model_validate_json(line)
        except ValidationError as error:
            all_valid = False
            _write_line({"error": _line_error(error), "line": number})
            continue
        _write_line(classify(request.text, request.respondent).model_dump(mode="json"))
    return 0 if all_valid else 1


def _evaluate(args: argparse.Namespace) -> int:
    from shared.core import reference_data
    from shared.core.classifier import builtin_model, evaluate, reference_examples

    accuracy = evaluate(reference_examples("heldout"))
    print(f"model {builtin_model().version}, held-out set of {accuracy.examples} complaints")
    print(f"{'category':<12} {accuracy.category:7.1%}")
    print(f"{'department':<12} {accuracy.department or 0:7.1%}")
    for category in reference_data.categories():
        right, total = accuracy.per_category.get(category.code, (0, 0))
        print(f"  {category.code:<12} {right:3d}/{total:<3d} {category.name}")
    return 0


# --- redrive --------------------------------------------------------------------------------------------------


def redrive(queue: str) -> int:
    """Move every message of the queue's dead-letter queue back to it; returns how many moved, also recorded as the
    stage's `DlqRedriven` figure of the queue (its dashboard shows it; the operator's credentials may put metrics).

    SQS's StartMessageMoveTask does this on AWS, but moto lacks it (and AWS's China regions too); receive, send and
    delete work everywhere.
    """
    sqs = client("sqs")
    source = sqs.get_queue_url(QueueName=dead_letter_queue(queue))["QueueUrl"]
    target = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    moved = 0
    try:
        while True:
            messages = sqs.receive_message(
                QueueUrl=source, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return moved
            entries = [
                {"Id": str(index), "MessageBody": m["Body"], "MessageAttributes": m.get("MessageAttributes", {})}
                for index, m in enumerate(messages)
            ]
            sent = sqs.send_message_batch(QueueUrl=target, Entries=entries)
            sent_ids = [entry["Id"] for entry in sent.get("Successful", [])]
            if sent_ids:
                sqs.delete_message_batch(
                    QueueUrl=source,
                    Entries=[
                        {"Id": index, "ReceiptHandle": messages[int(index)]["ReceiptHandle"]} for index in sent_ids
                    ],
                )
            moved += len(sent_ids)
            if sent.get("Failed"):
                raise RuntimeError(f"moved {moved}, but {len(sent['Failed'])} could not be sent and stay in the DLQ")
    finally:
        if moved:
            record("DlqRedriven", moved, queue=queue)


def _redrive(args: argparse.Namespace) -> int:
    try:
        moved = _on_target(args, "redrive", lambda settings: redrive(args.queue))
    except RuntimeError as error:
        print(f"hotspot redrive: {error}", file=sys.stderr)
        return 1
    if moved is None:
        return 1
    print(f"moved {moved} messages from {dead_letter_queue(args.queue)} to {args.queue}")
    return 0


# --- quarantine (shared/core/quarantine.py, shared/intake/replay.py) ---


def _month(value: str) -> str:
    from shared.core.quarantine import MONTH

    if not MONTH.fullmatch(value):
        raise argparse.ArgumentTypeError("a month is written yyyy-mm, e.g. 2026-05")
    return value


def _quarantine_list(args: argparse.Namespace) -> int:
    """References, channels and reasons only: the payloads hold personal data, the console links them."""
    from shared.core import quarantine

    month = args.month or f"{datetime.now(UTC):%Y-%m}"
    entries = _on_target(args, "quarantine list", lambda settings: quarantine.month(settings, month))
    if entries is None:
        return 1
    for entry in entries:
        reference = entry.raw_key.rsplit("/", 1)[-1]
        replayed = f" (replayed as {entry.replayed_as})" if entry.replayed_as else ""
        when = f"{entry.received_at:%Y-%m-%dT%H:%M:%SZ}"
        print(f"{when} {entry.channel} {reference} {entry.code}: {entry.message}{replayed}")
    print(f"{len(entries)} quarantined in {month}")
    return 0


def _quarantine_replay(args: argparse.Namespace) -> int:
    from shared.core.mailer import mail_sender
    from shared.intake import replay

    month = args.month or f"{datetime.now(UTC):%Y-%m}"

    def replay_one(settings: Settings) -> Any:
        entry = replay.find(settings, month, args.reference)
        return replay.replay(settings, entry, mail_sender(settings), datetime.now(UTC))

    try:
        answer = _on_target(args, "quarantine replay", replay_one)
    except replay.NotReplayable as error:
        print(f"hotspot quarantine replay: {error}", file=sys.stderr)
        return 1
    if answer is None:
        return 1
    if answer.status >= 400:
        code = answer.body.get("error", {}).get("code")
        print(f"still not filed ({answer.status} {code}): quarantined again", file=sys.stderr)
        return 1
    print(f"filed as {answer.body['tracking_no']}{' (replayed before)' if answer.replayed else ''}")
    return 0


# --- staff identity (shared/core/auth.py, shared/routing/staff.py) ---


def _use_local_stack(moto_port: int) -> None:
    from infra import local_stack  # a development dependency, like `run`

    local_stack.use_local_environment(f"http://127.0.0.1:{moto_port}")


def _token(args: argparse.Namespace) -> int:
    """Development tokens exist for the local stack only: this always talks to its moto server."""
    from shared.core import auth

    _use_local_stack(args.moto_port)
    try:
        token = auth.issue_development_token(get_settings(), Role(args.role), args.dept, args.name)
    except ValidationError as error:
        print(f"hotspot token: {error.errors()[0]['msg']}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"hotspot token: cannot read the signing key; is the local stack running? ({error})", file=sys.stderr)
        return 1
    print(token)
    return 0


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise ValueError("the passwords differ")
    return password


def _staff_add(args: argparse.Namespace) -> int:
    from shared.routing import staff

    if args.local:
        _use_local_stack(args.moto_port)
    try:
        uri = staff.create_account(
            get_settings(), args.username, args.name or args.username, Role(args.role), args.dept, _read_password()
        )
    except ValueError as error:
        print(f"hotspot staff add: {error}", file=sys.stderr)
        return 2
    except staff.AccountExists:
        print(f"hotspot staff add: {args.username} exists already", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError, RuntimeError) as error:  # RuntimeError: no TOTP key yet (keys rotate)
        print(f"hotspot staff add: {error}", file=sys.stderr)
        return 1
    # Shown this once: enter it into the staff member's authenticator app (or make a QR code of it).
    print(uri)
    return 0


def _staff_change(args: argparse.Namespace) -> int:
    from shared.routing import staff

    if args.local:
        _use_local_stack(args.moto_port)
    settings = get_settings()
    try:
        if args.action == "deactivate":
            staff.deactivate(settings, args.username)
        elif args.action == "reactivate":
            staff.reactivate(settings, args.username)
        else:
            staff.reset_password(settings, args.username, _read_password())
    except ValueError as error:
        print(f"hotspot staff {args.action}: {error}", file=sys.stderr)
        return 2
    except staff.UnknownAccount:
        print(f"hotspot staff {args.action}: no account {args.username}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"hotspot staff {args.action}: {error}", file=sys.stderr)
        return 1
    print(f"{args.username}: {args.action} done")
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    from shared.core import auth

    if args.local:
        _use_local_stack(args.moto_port)
    elif args.stage:
        from infra.cdk import stages

        stages.use_stage(stages.load(args.stage))
    try:
        keys = auth.rotate_signing_key(get_settings())
    except (BotoCoreError, ClientError) as error:
        print(f"hotspot keys rotate: {error}", file=sys.stderr)
        return 1
    previous = ", ".join(key.kid for key in keys.previous) or "none"
    print(f"current key {keys.current.kid}; previous {previous}")
    return 0


# --- remind (shared/routing/reminders.py) -----------------------------------------------------------------------------


def _moment(value: str) -> datetime:
    from shared.core.reference_data import county_timezone

    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=county_timezone())


def _on_target(args: argparse.Namespace, command: str, run: Callable[[Settings], T]) -> T | None:
    """`run` against the target of _target; an AWS error is printed and gives None."""
    if args.stage:
        from infra.cdk import stages

        stages.use_stage(stages.load(args.stage))
    elif not args.aws:
        _use_local_stack(args.moto_port)
    try:
        return run(get_settings())
    except (BotoCoreError, ClientError) as error:
        print(f"hotspot {command}: {error}", file=sys.stderr)
        return None
    except SecretsNotConfigured as error:
        print(f"hotspot {command}: the stage's secrets cannot be read: {error}", file=sys.stderr)
        return None


def _remind(args: argparse.Namespace) -> int:
    """The scheduled run for a given time; prints tracking numbers and kinds only, never a phone number."""
    from shared.routing import reminders

    summary = _on_target(
        args, "remind", lambda settings: reminders.remind_deadlines(settings, now=args.at, dry_run=args.dry_run)
    )
    if summary is None:
        return 1
    verb = "would send" if args.dry_run else "sent"
    for reminder in summary.reminders:
        print(f"{verb} {reminder.kind} ({reminder.point}) for {reminder.tracking_no} to {reminder.department}")
    counts = summary.model_dump(exclude={"reminders", "quiet_hours"})
    quiet = "; quiet hours: no SMS now" if summary.quiet_hours else ""
    print(", ".join(f"{name} {count}" for name, count in counts.items()) + quiet)
    return 0


def _recompute_deadlines(args: argparse.Namespace) -> int:
    """shared/routing/provisional.py on demand; prints tracking numbers and dates only."""
    from shared.core.reference_data import county_timezone
    from shared.routing import provisional

    changed = _on_target(
        args, "recompute-deadlines", lambda settings: provisional.recompute_deadlines(settings, dry_run=args.dry_run)
    )
    if changed is None:
        return 1
    verb = "would move" if args.dry_run else "moved"
    zone = county_timezone()
    for item in changed:
        old, new = item.old_due_at.astimezone(zone), item.new_due_at.astimezone(zone)
        print(f"{verb} the {item.due_kind} deadline of {item.tracking_no} from {old:%Y-%m-%d} to {new:%Y-%m-%d}")
    print(f"{len(changed)} provisional deadlines {'to recompute' if args.dry_run else 'recomputed'}")
    return 0


def _move_due_entries(args: argparse.Namespace) -> int:
    """shared/routing/reminders.py move_due_entries: the reminders runs find open cases indexed by day again."""
    from shared.routing import reminders

    return _move(args, "move-due-entries", reminders.move_due_entries, "due-index entries moved to their month's shard")


def _move_hotspot_listing(args: argparse.Namespace) -> int:
    """shared/reporting/hotspots.py move_listing: reports, detection and the list find hotspots opened before again."""
    from shared.reporting import hotspots

    return _move(args, "move-hotspot-listing", hotspots.move_listing, "hotspots moved to the one listing partition")


def _move_campaign_items(args: argparse.Namespace) -> int:
    """shared/reporting/reports.py move_campaign_items: materials, surveys and reports find those stored before."""
    from shared.reporting import reports

    moved = "material submissions and survey list items moved to the campaign partition"
    return _move(args, "move-campaign-items", reports.move_campaign_items, moved)


def _move(args: argparse.Namespace, command: str, move: Callable[[Settings], int], moved: str) -> int:
    """A one-off move of stored items after an upgrade: how many it moved, or 1 when the target refused it."""
    count = _on_target(args, command, move)
    if count is None:
        return 1
    print(f"{count} {moved}")
    return 0


# --- rebuild-stats (shared/reporting/stats.py) ---


def _rebuild_stats(args: argparse.Namespace) -> int:
    """Exit 0 when the live counters agree (or were repaired), 1 when --check found differences."""
    from shared.reporting import stats

    report = _on_target(args, "rebuild-stats", lambda settings: stats.rebuild(settings, write=not args.check))
    if report is None:
        return 1
    for line in report.differences:
        print(line)
    done = f", {report.written} items written" if not args.check else ""
    print(
        f"cases read {report.cases_read}, items compared {report.items_compared}, "
        f"differences {len(report.differences)}{done}"
    )
    return 1 if args.check and report.differences else 0


# --- detect-hotspots (shared/reporting/hotspots.py) ---


def _detect_hotspots(args: argparse.Namespace) -> int:
    """The scheduled detection for a given time; prints hotspot ids and counts only (unit names may name people)."""
    from shared.reporting import hotspots

    summary = _on_target(args, "detect-hotspots", lambda settings: hotspots.detect(settings, now=args.at))
    if summary is None:
        return 1
    for hotspot_id in summary.opened:
        print(f"opened {hotspot_id}")
    quiet = "; quiet hours: no SMS now" if summary.quiet_hours else ""
    print(
        f"cluster days read {summary.days_read}, clusters {summary.clusters}, opened {len(summary.opened)}, "
        f"updated {summary.updated}, announced {summary.notified}{quiet}"
    )
    return 0


# --- demo (infra/demo.py) -----------------------------------------------------------------------------------------

# Where `--campaign-now` puts today: a week into the campaign's last phase (the earlier phases and the materials'
# due date behind, the campaign still running).
DAYS_INTO_LAST_PHASE = 7


def campaign_now_shift() -> int:
    from shared.core.campaign import shift_to_surround
    from shared.core.reference_data import county_timezone

    return shift_to_surround(datetime.now(county_timezone()).date(), DAYS_INTO_LAST_PHASE)


def _run_campaign_now() -> None:
    """The campaign's dates moved so that it runs today; the demo enters its history by the operator channels
    as it happened, so entries may reach back to the campaign's start (unless the environment says otherwise).
    Read before any setting is cached, hence the campaign file itself rather than `load_campaign`."""
    from shared.core import reference_data
    from shared.core.campaign import Campaign

    shift = campaign_now_shift()
    os.environ["CAMPAIGN_SHIFT_DAYS"] = str(shift)
    opened = Campaign.model_validate(reference_data.load_json("campaign.json")).phases[0].start + timedelta(days=shift)
    today = datetime.now(reference_data.county_timezone()).date()
    os.environ.setdefault("OPERATOR_ENTRY_MAX_DAYS_BACK", str((today - opened).days + 1))


def _demo(args: argparse.Namespace) -> int:
    """The demo campaign, then what the schedules would do with it: reminders and escalations, hotspot
    detection, the campaign's reports. Prints counts only."""
    from infra import demo
    from shared.core.reference_data import county_timezone
    from shared.reporting import hotspots
    from shared.routing import reminders

    os.environ["CAMPAIGN_SHIFT_DAYS"] = str(campaign_now_shift())  # the dates the stack runs with
    _use_local_stack(args.moto_port)
    settings = get_settings()
    try:
        summary = demo.run(settings, args.gateway, args.smtp_port, args.size)
        demo.settle(settings)
        # As the schedule would run them: at night, the first run after the quiet hours (none sends SMS in them).
        run_at = reminders.policy().quiet_hours.over_at(datetime.now(county_timezone()))
        reminded = reminders.remind_deadlines(settings, now=run_at)
        detected = hotspots.detect(settings)
        demo.settle(settings)
        reports = demo.reports(settings, args.gateway)
    except (RuntimeError, OSError, BotoCoreError, ClientError) as error:
        print(f"hotspot demo: {error}", file=sys.stderr)
        return 1
    print(
        f"complaints {summary.complaints}, workflow actions {summary.actions}, records {summary.records}, "
        f"materials {summary.materials}, published {summary.publications}; overdue {reminded.overdue}, "
        f"escalated {reminded.escalated}; hotspots opened {len(detected.opened)}; report files {reports}"
    )
    return 0


# --- model (shared/routing/learning.py) ---------------------------------------------------------------------------

# Who the model commands record as having retrained or rolled back (the operator at the console of the machine).
CLI_OPERATOR = "cli:hotspot"


def _model_list(args: argparse.Namespace) -> int:
    from shared.routing import learning

    operator = Principal(subject=CLI_OPERATOR, name=CLI_OPERATOR, role=Role.county_admin)
    status = _on_target(args, "model list", lambda settings: learning.status(settings, operator))
    if status is None:
        return 1
    print(f"in use: {status['current']['version']}")
    print("stored: " + (" ".join(status["versions"]) or "-"))
    for evaluation in status["evaluations"]:
        print(_evaluation_line(evaluation))
    return 0


def _model_retrain(args: argparse.Namespace) -> int:
    from shared.routing import learning

    evaluation = _on_target(
        args, "model retrain", lambda settings: learning.retrain(settings, CLI_OPERATOR, datetime.now(UTC))
    )
    if evaluation is None:
        return 1
    print(_evaluation_line(evaluation.model_dump(mode="json")))
    return 0


def _evaluation_line(evaluation: dict[str, Any]) -> str:
    decision = "adopted" if evaluation["adopted"] else "kept current"
    return (
        f"{evaluation['at']} candidate {evaluation['candidate_version']} category "
        f"{evaluation['candidate']['category']:.1%} vs current {evaluation['current_version']} "
        f"{evaluation['current']['category']:.1%} on {evaluation['evaluated_on']} examples "
        f"(trained on {evaluation['trained_on']} corrections): {decision}"
    )


def _model_use(args: argparse.Namespace) -> int:
    from shared.routing import learning

    try:
        pointer = _on_target(
            args, "model use", lambda settings: learning.use(settings, args.version, CLI_OPERATOR, datetime.now(UTC))
        )
    except ApiError as error:
        print(f"hotspot model use: {error.message}", file=sys.stderr)
        return 1
    if pointer is None:
        return 1
    print(f"in use: {pointer.version} (routing reads it within CLASSIFIER_POINTER_SECONDS)")
    return 0


# --- report (shared/reporting/reports.py) -----------------------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    """Reports on demand for the county legal office; prints each stored file's key."""
    from shared.reporting import periods, reports
    from shared.reporting.reports import Format

    try:
        period = periods.period(args.period) if args.period else periods.campaign_periods()[0]
    except ValueError as error:
        print(f"hotspot report: {error}", file=sys.stderr)
        return 2
    formats = [name.strip() for name in args.formats.split(",") if name.strip()]
    unknown = sorted(set(formats) - set(reports.ALL_FORMATS)) + sorted({args.scope} - {"all", *reports.scopes()})
    if unknown:
        print(f"hotspot report: unknown format or scope: {', '.join(unknown)}", file=sys.stderr)
        return 2
    scopes = reports.scopes() if args.scope == "all" else [args.scope]
    now = datetime.now(UTC)
    made = _on_target(
        args,
        "report",
        lambda settings: [
            reports.generate(settings, period, scope, cast(list[Format], formats), now) for scope in scopes
        ],
    )
    if made is None:
        return 1
    for stored in made:
        for item in stored.files:
            print(item.key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
