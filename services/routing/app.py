"""Routing: the intake queue consumer, the deadline reminders and the notification sender; the staff case API and
console under /cases on the gateway.

Logic: shared/routing/ (router.py, reminders.py, notifications.py, cases_api.py, console.py, ...).
"""

from datetime import UTC, datetime
from typing import Any

from chalice import Chalice, Cron, Rate, Response
from chalice.app import Request

from shared.core import http
from shared.core.batch import PartialItemFailureResponse, process_batch
from shared.core.http import (
    StaffCall,
    client_ip,
    current_request,
    guarded,
    json_response,
    query_params,
    raw_body,
    staff_json,
    staff_page,
)
from shared.core.pages import Page
from shared.core.settings import Settings, environment_settings, get_settings
from shared.core.staff_pages import Where

app = Chalice(app_name="hotspot-routing", configure_logs=False)

# Every handler below is a Lambda function of its own importing this file, and the API's requests each need only
# a few of the logic modules: handlers import theirs when first called, so that no cold start pays for the others.


@app.on_sqs_message(queue=environment_settings().intake_queue, batch_size=10)
def route_complaint(event: Any) -> PartialItemFailureResponse:
    from shared.routing import router

    settings = get_settings()
    return process_batch(event, lambda messages: router.route_batch(settings, messages))


@app.on_sqs_message(queue=environment_settings().notify_queue, batch_size=10)
def send_notifications(event: Any) -> PartialItemFailureResponse:
    from shared.core.mailer import mail_sender
    from shared.routing import notifications
    from shared.routing.sms import sms_sender

    settings = get_settings()
    sender, mail = sms_sender(settings), mail_sender(settings)
    return process_batch(event, lambda messages: notifications.send_notifications(settings, messages, sender, mail))


@app.schedule(Rate(15, unit=Rate.MINUTES), name="remind_deadlines")
def remind_deadlines(event: Any) -> dict:
    from shared.routing import reminders

    return reminders.remind_deadlines(get_settings()).model_dump(exclude={"reminders"})


# Sundays 18:00 UTC, Mondays 02:00 Beijing time: a week's corrections, before the weekly reports.
@app.schedule(Cron(0, 18, "?", "*", "SUN", "*"), name="retrain_classifier")
def retrain_classifier(event: Any) -> dict:
    from shared.routing import learning

    evaluation = learning.retrain(get_settings(), learning.RETRAINER, datetime.now(UTC))
    return evaluation.model_dump(mode="json", include={"candidate_version", "adopted", "trained_on"})


# The sweeps run on their own, so that a failure of the reminders (or of each other) never stops them.
@app.schedule(Rate(5, unit=Rate.MINUTES), name="sweep_unrouted")
def sweep_unrouted(event: Any) -> dict:
    from shared.routing import reminders

    return reminders.sweep_unrouted(get_settings()).model_dump()


@app.schedule(Rate(1, unit=Rate.MINUTES), name="sweep_outbox")
def sweep_outbox(event: Any) -> dict:
    from shared.core import outbox

    return {"delivered": outbox.sweep(get_settings())}


# Stages where SNS cannot text (AWS's China regions) name their alarm topic: the notifier tells the duty phones and
# the operators' mailbox. It reads no secret but the SMS provider's and the mailbox's (environment settings).
if environment_settings().alarm_topic:

    @app.on_sns_message(topic=environment_settings().alarm_topic)
    def notify_alarm(event: Any) -> dict:
        from shared.core.mailer import mail_sender
        from shared.routing import alarms
        from shared.routing.sms import sms_sender

        settings, now = environment_settings(), datetime.now(UTC)
        alarm = alarms.read(event.message, settings.stage_prefix, now)
        return alarms.deliver(settings, alarm, sms_sender(settings), mail_sender(settings), now).model_dump()


@app.route("/health", methods=["GET"])
@guarded
def health() -> Response:
    return http.health("routing")


# Staff login of the system's own token issuer (shared/routing/staff.py); 404 where Cognito issues the tokens.
@app.route("/openapi.json", methods=["GET"])
@guarded
def get_openapi() -> Response:
    from shared.routing import openapi

    return json_response(200, openapi.document(app.routes, get_settings().cases_base_path))


@app.route("/auth/login", methods=["POST"], content_types=["*/*"])
@guarded
def login() -> Response:
    from shared.routing import staff

    request = current_request(app)
    answer = staff.login(get_settings(), raw_body(request), request.headers.get("content-type", ""), client_ip(request))
    return json_response(200, answer.model_dump(mode="json"), {"Cache-Control": "no-store"})


@app.route("/auth/jwks.json", methods=["GET"])
@guarded
def jwks() -> Response:
    from shared.routing import staff

    return json_response(200, staff.public_keys(get_settings()), {"Cache-Control": "max-age=300"})


@app.route("/auth/me", methods=["GET"])
@guarded
def me() -> Response:
    from shared.routing import staff

    return json_response(200, staff.me(get_settings(), current_request(app).headers).model_dump(mode="json"))


@app.route("/auth/accounts/{username}/unlock", methods=["POST"], content_types=["*/*"])
@staff_json(app, status=204)
def unlock_account(call: StaffCall, username: str) -> None:
    from shared.routing import staff

    staff.unlock(call, username)


# --- the staff console (shared/routing/console.py): pages over the case API, the session in an HttpOnly cookie ---
# Declared before the API's /{tracking_no} routes; literal path segments win over parameters either way.


@app.route("/console", methods=["GET"])
@staff_page(app)
def console_queue(settings: Settings, where: Where, request: Request) -> Page:
    from shared.routing import console

    return console.queue_page(settings, where, request.headers, query_params(request))


@app.route("/console/login", methods=["GET"])
@staff_page(app)
def console_login_page(settings: Settings, where: Where, request: Request) -> Page:
    from shared.routing import console

    return console.login_page(where)


@app.route("/console/login", methods=["POST"], content_types=["*/*"])
@staff_page(app)
def console_login(settings: Settings, where: Where, request: Request) -> Page:
    from shared.routing import console

    return console.submit_login(settings, where, request.headers, raw_body(request), client_ip(request))


@app.route("/console/logout", methods=["POST"], content_types=["*/*"])
@staff_page(app)
def console_logout(settings: Settings, where: Where, request: Request) -> Page:
    from shared.routing import console

    return console.logout(settings, where, request.headers, raw_body(request))


@app.route("/console/assets/console.css", methods=["GET"])
@guarded
def console_stylesheet() -> Response:
    from shared.routing import console

    return Response(
        body=console.stylesheet(),
        status_code=200,
        headers={"Content-Type": "text/css; charset=utf-8", "Cache-Control": "max-age=300"},
    )


# The intake quarantine (county legal office, auditor) and media follow-up notes (county office, media, auditor).
@app.route("/console/quarantine", methods=["GET"])
@staff_page(app)
def console_quarantine(settings: Settings, where: Where, request: Request) -> Page:
    from shared.routing import console

    return console.quarantine_page(settings, where, request.headers, query_params(request))


@app.route("/console/media", methods=["GET"])
@staff_page(app)
def console_media(settings: Settings, where: Where, request: Request) -> Page:
    from shared.routing import console

    return console.media_page(settings, where, request.headers, query_params(request))


@app.route("/console/media", methods=["POST"], content_types=["*/*"])
@staff_page(app)
def console_media_note(settings: Settings, where: Where, request: Request) -> Page:
    from shared.routing import console

    return console.submit_media_note(settings, where, request.headers, raw_body(request))


@app.route("/console/surveys/{survey_id}/{number}", methods=["POST"], content_types=["*/*"])
@staff_page(app)
def console_file_survey_answer(settings: Settings, where: Where, request: Request, survey_id: str, number: str) -> Page:
    from shared.routing import console

    return console.file_survey_answer(settings, where, request.headers, survey_id, number, raw_body(request))


@app.route("/console/{tracking_no}", methods=["GET"])
@staff_page(app)
def console_case(settings: Settings, where: Where, request: Request, tracking_no: str) -> Page:
    from shared.routing import console

    return console.case_page(settings, where, request.headers, tracking_no)


@app.route("/console/{tracking_no}/{action}", methods=["POST"], content_types=["*/*"])
@staff_page(app)
def console_action(settings: Settings, where: Where, request: Request, tracking_no: str, action: str) -> Page:
    from shared.routing import console

    return console.submit_action(settings, where, request.headers, tracking_no, action, raw_body(request))


# --- the staff case API (shared/routing/cases_api.py, workflow in shared/routing/workflow.py) ---


@app.route("/", methods=["GET"])
@staff_json(app)
def list_cases(call: StaffCall) -> dict:
    from shared.routing import cases_api

    return cases_api.list_cases(call.settings, call.principal, call.query)


# Operator entry (shared/routing/operator_entry.py): staff record a complaint from the hotline, a letter, a visit, ...
@app.route("/", methods=["POST"], content_types=["*/*"])
@staff_json(app)
def enter_complaint(call: StaffCall) -> tuple[int, dict]:
    from shared.routing import operator_entry

    headers = call.request.headers
    answer = operator_entry.enter_complaint(
        call.settings, call.principal, call.body, headers.get("content-type", ""), headers.get("idempotency-key")
    )
    return answer.status, answer.body


@app.route("/{tracking_no}", methods=["GET"])
@staff_json(app)
def get_case(call: StaffCall, tracking_no: str) -> dict:
    from shared.routing import cases_api

    return cases_api.get_case(call.settings, call.principal, tracking_no)


# The classifier's statistical part (shared/routing/learning.py): the model in use and retraining on demand.
@app.route("/classifier", methods=["GET"])
@staff_json(app)
def classifier_status(call: StaffCall) -> dict:
    from shared.routing import learning

    return learning.status(call.settings, call.principal)


@app.route("/classifier/retrain", methods=["POST"], content_types=["application/json"])
@staff_json(app)
def retrain_classifier_now(call: StaffCall) -> dict:
    from shared.routing import learning

    return learning.retrain_now(call.settings, call.principal, datetime.now(UTC))


# A survey answer describing a concrete problem, filed as a complaint (shared/routing/survey_complaints.py).
@app.route("/surveys/{survey_id}/answers/{number}/complaint", methods=["POST"], content_types=["application/json"])
@staff_json(app)
def file_survey_answer(call: StaffCall, survey_id: str, number: str) -> tuple[int, dict]:
    from shared.routing import survey_complaints

    content_type = call.request.headers.get("content-type", "")
    return survey_complaints.file_answer(call.settings, call.principal, survey_id, number, call.body, content_type)


@app.route("/{tracking_no}/actions/{action}", methods=["POST"], content_types=["application/json"])
@staff_json(app)
def post_action(call: StaffCall, tracking_no: str, action: str) -> dict:
    from shared.routing import cases_api

    return cases_api.act(call.settings, call.principal, tracking_no, action, call.body)


# The complainant's compartment (shared/routing/confidentiality.py): an audited reveal, and messages the system relays.
@app.route("/{tracking_no}/complainant/reveal", methods=["POST"], content_types=["application/json"])
@staff_json(app, headers={"Cache-Control": "no-store"})
def reveal_complainant(call: StaffCall, tracking_no: str) -> dict:
    from shared.routing import confidentiality

    return confidentiality.reveal(call.settings, call.principal, tracking_no, call.body)


@app.route("/{tracking_no}/complainant/message", methods=["POST"], content_types=["application/json"])
@staff_json(app, status=202)
def relay_to_complainant(call: StaffCall, tracking_no: str) -> dict:
    from shared.routing import confidentiality

    return confidentiality.relay(call.settings, call.principal, tracking_no, call.body)


# --- typical cases for the public and media follow-up notes (shared/routing/publication.py) ---


@app.route("/{tracking_no}/publication", methods=["GET"])
@staff_json(app)
def get_publication(call: StaffCall, tracking_no: str) -> dict:
    from shared.routing import publication

    return publication.get_publication(call.settings, call.principal, tracking_no)


@app.route("/{tracking_no}/publication", methods=["POST"], content_types=["application/json"])
@staff_json(app)
def draft_publication(call: StaffCall, tracking_no: str) -> dict:
    from shared.routing import publication

    return publication.draft(call.settings, call.principal, tracking_no, call.body)


@app.route("/{tracking_no}/publication/{step}", methods=["POST"], content_types=["application/json"])
@staff_json(app)
def publication_step(call: StaffCall, tracking_no: str, step: str) -> dict:
    from shared.routing import publication

    return publication.step(call.settings, call.principal, tracking_no, step, call.body)


@app.route("/{tracking_no}/media-notes", methods=["GET"])
@staff_json(app)
def get_media_notes(call: StaffCall, tracking_no: str) -> dict:
    from shared.routing import publication

    return publication.notes(call.settings, call.principal, tracking_no)


@app.route("/{tracking_no}/media-notes", methods=["POST"], content_types=["application/json"])
@staff_json(app, status=201)
def add_media_note(call: StaffCall, tracking_no: str) -> dict:
    from shared.routing import publication

    return publication.add_note(call.settings, call.principal, tracking_no, call.body)
