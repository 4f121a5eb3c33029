"""Routing: the intake queue consumer, the deadline reminders and the notification sender.

Logic: shared/routing/router.py, shared/routing/reminders.py, shared/routing/notifications.py.
"""

from collections.abc import Callable
from typing import Any

from chalice import Chalice, Rate, Response

from shared.core import auth, staff_pages
from shared.core.batch import PartialItemFailureResponse, process_messages
from shared.core.http import client_ip, current_request, guarded, json_response, raw_body, staff_page_response
from shared.core.mailer import mail_sender
from shared.core.pages import Page
from shared.core.settings import get_settings
from shared.routing import (
    cases_api,
    confidentiality,
    console,
    notifications,
    operator_entry,
    publication,
    reminders,
    router,
    staff,
)
from shared.routing.sms import sms_sender

app = Chalice(app_name="hotspot-routing", configure_logs=False)
settings = get_settings()


@app.on_sqs_message(queue=settings.intake_queue, batch_size=10)
def route_complaint(event: Any) -> PartialItemFailureResponse:
    return process_messages(event, lambda message: router.route_complaint(settings, message))


@app.on_sqs_message(queue=settings.notify_queue, batch_size=10)
def send_notifications(event: Any) -> PartialItemFailureResponse:
    sender, mail = sms_sender(settings), mail_sender(settings)
    return process_messages(event, lambda message: notifications.send_notification(settings, message, sender, mail))


@app.schedule(Rate(15, unit=Rate.MINUTES), name="remind_deadlines")
def remind_deadlines(event: Any) -> dict:
    return reminders.remind_deadlines(settings).model_dump(exclude={"reminders"})


@app.route("/health", methods=["GET"])
def health() -> Response:
    return json_response(200, {"status": "ok", "service": "routing"})


# Staff login of the system's own token issuer (shared/routing/staff.py); 404 where Cognito issues the tokens.
@app.route("/auth/login", methods=["POST"], content_types=["*/*"])
@guarded
def login() -> Response:
    request = current_request(app)
    answer = staff.login(settings, raw_body(request), request.headers.get("content-type", ""), client_ip(request))
    return json_response(200, answer.model_dump(mode="json"), {"Cache-Control": "no-store"})


@app.route("/auth/jwks.json", methods=["GET"])
@guarded
def jwks() -> Response:
    return json_response(200, staff.public_keys(settings), {"Cache-Control": "max-age=300"})


@app.route("/auth/me", methods=["GET"])
@guarded
def me() -> Response:
    return json_response(200, staff.me(settings, current_request(app).headers).model_dump(mode="json"))


# --- the staff console (shared/routing/console.py): pages over the case API, the session in an HttpOnly cookie ---
# Declared before the API's /{tracking_no} routes; literal path segments win over parameters either way.


def _console(build: Callable[[staff_pages.Where], Page]) -> Response:
    return staff_page_response(app, settings, build)


@app.route("/console", methods=["GET"])
@guarded
def console_queue() -> Response:
    request = current_request(app)
    params: dict[str, str] = dict(request.query_params or {})
    return _console(lambda where: console.queue_page(settings, where, request.headers, params))


@app.route("/console/login", methods=["GET"])
@guarded
def console_login_page() -> Response:
    return _console(console.login_page)


@app.route("/console/login", methods=["POST"], content_types=["*/*"])
@guarded
def console_login() -> Response:
    request = current_request(app)
    body, ip = raw_body(request), client_ip(request)
    return _console(lambda where: console.submit_login(settings, where, request.headers, body, ip))


@app.route("/console/logout", methods=["POST"], content_types=["*/*"])
@guarded
def console_logout() -> Response:
    request = current_request(app)
    body = raw_body(request)
    return _console(lambda where: console.logout(settings, where, request.headers, body))


@app.route("/console/assets/console.css", methods=["GET"])
@guarded
def console_stylesheet() -> Response:
    return Response(
        body=console.stylesheet(),
        status_code=200,
        headers={"Content-Type": "text/css; charset=utf-8", "Cache-Control": "max-age=300"},
    )


# The intake quarantine (county legal office, auditor) and media follow-up notes (county office, media, auditor).
@app.route("/console/quarantine", methods=["GET"])
@guarded
def console_quarantine() -> Response:
    request = current_request(app)
    params: dict[str, str] = dict(request.query_params or {})
    return _console(lambda where: console.quarantine_page(settings, where, request.headers, params))


@app.route("/console/media", methods=["GET"])
@guarded
def console_media() -> Response:
    request = current_request(app)
    params: dict[str, str] = dict(request.query_params or {})
    return _console(lambda where: console.media_page(settings, where, request.headers, params))


@app.route("/console/media", methods=["POST"], content_types=["*/*"])
@guarded
def console_media_note() -> Response:
    request = current_request(app)
    body = raw_body(request)
    return _console(lambda where: console.submit_media_note(settings, where, request.headers, body))


@app.route("/console/{tracking_no}", methods=["GET"])
@guarded
def console_case(tracking_no: str) -> Response:
    headers = current_request(app).headers
    return _console(lambda where: console.case_page(settings, where, headers, tracking_no))


@app.route("/console/{tracking_no}/{action}", methods=["POST"], content_types=["*/*"])
@guarded
def console_action(tracking_no: str, action: str) -> Response:
    request = current_request(app)
    body = raw_body(request)
    return _console(lambda where: console.submit_action(settings, where, request.headers, tracking_no, action, body))


# --- the staff case API (shared/routing/cases_api.py, workflow in shared/routing/workflow.py), under /cases on the gate


@app.route("/", methods=["GET"])
@guarded
def list_cases() -> Response:
    request = current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    params = request.query_params
    query = {name: params[name] for name in params} if params else {}
    return json_response(200, cases_api.list_cases(settings, principal, query))


# Operator entry (shared/routing/operator_entry.py): staff record a complaint from the hotline, a letter, a visit, ...
@app.route("/", methods=["POST"], content_types=["*/*"])
@guarded
def enter_complaint() -> Response:
    request = current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    answer = operator_entry.enter_complaint(
        settings,
        principal,
        raw_body(request),
        request.headers.get("content-type", ""),
        request.headers.get("idempotency-key"),
    )
    return json_response(answer.status, answer.body)


@app.route("/{tracking_no}", methods=["GET"])
@guarded
def get_case(tracking_no: str) -> Response:
    principal = auth.principal_from_headers(settings, current_request(app).headers)
    return json_response(200, cases_api.get_case(settings, principal, tracking_no))


@app.route("/{tracking_no}/actions/{action}", methods=["POST"], content_types=["application/json"])
@guarded
def post_action(tracking_no: str, action: str) -> Response:
    request = current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(200, cases_api.act(settings, principal, tracking_no, action, raw_body(request)))


# The complainant's compartment (shared/routing/confidentiality.py): an audited reveal, and messages the system relays.
@app.route("/{tracking_no}/complainant/reveal", methods=["POST"], content_types=["application/json"])
@guarded
def reveal_complainant(tracking_no: str) -> Response:
    request = current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    answer = confidentiality.reveal(settings, principal, tracking_no, raw_body(request))
    return json_response(200, answer, {"Cache-Control": "no-store"})


@app.route("/{tracking_no}/complainant/message", methods=["POST"], content_types=["application/json"])
@guarded
def relay_to_complainant(tracking_no: str) -> Response:
    request = current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(202, confidentiality.relay(settings, principal, tracking_no, raw_body(request)))


# --- typical cases for the public and media follow-up notes (shared/routing/publication.py) ---


@app.route("/{tracking_no}/publication", methods=["GET"])
@guarded
def get_publication(tracking_no: str) -> Response:
    principal = auth.principal_from_headers(settings, current_request(app).headers)
    return json_response(200, publication.get_publication(settings, principal, tracking_no))


@app.route("/{tracking_no}/publication", methods=["POST"], content_types=["application/json"])
@guarded
def draft_publication(tracking_no: str) -> Response:
    request = current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(200, publication.draft(settings, principal, tracking_no, raw_body(request)))


@app.route("/{tracking_no}/publication/{step}", methods=["POST"], content_types=["application/json"])
@guarded
def publication_step(tracking_no: str, step: str) -> Response:
    request = current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(200, publication.step(settings, principal, tracking_no, step, raw_body(request)))


@app.route("/{tracking_no}/media-notes", methods=["GET"])
@guarded
def get_media_notes(tracking_no: str) -> Response:
    principal = auth.principal_from_headers(settings, current_request(app).headers)
    return json_response(200, publication.notes(settings, principal, tracking_no))


@app.route("/{tracking_no}/media-notes", methods=["POST"], content_types=["application/json"])
@guarded
def add_media_note(tracking_no: str) -> Response:
    request = current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(201, publication.add_note(settings, principal, tracking_no, raw_body(request)))
