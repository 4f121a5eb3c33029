"""Public intake API: complaints in, tracking numbers out. Logic: shared/intake/complaints.py.

Each function imports this module on its cold start, and each request needs only a few of the logic modules: every
handler imports its logic when first called, so that no cold start pays for the others.
"""

from typing import Any

from chalice import Chalice, Rate, Response
from chalice.app import Request

from shared.core import http
from shared.core.batch import PartialItemFailureResponse, process_bodies
from shared.core.http import client_ip, current_request, guarded, json_response, public_page, query_params, raw_body
from shared.core.pages import Page, Site
from shared.core.settings import Settings, environment_settings, get_settings

app = Chalice(app_name="hotspot-intake", configure_logs=False)


@app.route("/complaints", methods=["POST"], content_types=["*/*"])
@guarded
def post_complaint() -> Response:
    from shared.intake import complaints

    request = current_request(app)
    headers = request.headers
    answer = complaints.submit_complaint(
        get_settings(),
        raw_body(request),
        headers.get("content-type", ""),
        headers.get("idempotency-key"),
        client_ip=client_ip(request),
    )
    replay = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return json_response(answer.status, answer.body, replay)


@app.route("/complaints/{tracking_no}", methods=["GET"])
@guarded
def get_complaint(tracking_no: str) -> Response:
    from shared.intake import complaints

    request = current_request(app)
    params = request.query_params
    code = (params.get("code") if params else None) or request.headers.get("x-verification-code")
    return json_response(200, complaints.complaint_status(get_settings(), tracking_no, code, client_ip(request)))


# The call-back after the reply (shared/intake/callbacks.py): the complainant's rating, with number and code.
@app.route("/complaints/{tracking_no}/feedback", methods=["POST"], content_types=["*/*"])
@guarded
def post_feedback(tracking_no: str) -> Response:
    from shared.intake import callbacks

    request = current_request(app)
    answer = callbacks.submit_feedback(
        get_settings(), tracking_no, raw_body(request), request.headers.get("content-type", ""), client_ip(request)
    )
    return json_response(200, answer)


# --- email: raw MIME under raw/email/ -> S3 notification -> mail queue -> complaint + reply ---


@app.on_sqs_message(queue=environment_settings().mail_queue, batch_size=5)
def receive_mail(event: Any) -> PartialItemFailureResponse:
    from shared.core.mailer import mail_sender
    from shared.intake import mail_inbound

    settings = get_settings()
    sender = mail_sender(settings)
    return process_bodies(event, lambda body: mail_inbound.receive_event(settings, body, sender))


@app.schedule(Rate(5, unit=Rate.MINUTES), name="poll_mailbox")
def poll_mailbox(event: Any) -> dict:
    from shared.intake import imap_poller

    return imap_poller.poll(get_settings()).model_dump()


# --- SMS: provider webhooks (Twilio signed, Aliyun and Tencent with ?token=) ---


@app.route("/sms/{provider}", methods=["POST"], content_types=["*/*"])
@guarded
def post_sms(provider: str) -> Response:
    from shared.intake import sms_inbound

    request = current_request(app)
    params = request.query_params
    answer = sms_inbound.receive(
        get_settings(),
        provider,
        raw_body(request),
        request.headers.get("content-type", ""),
        signature=request.headers.get("x-twilio-signature"),
        token=params.get("token") if params else None,
        client_ip=client_ip(request),
    )
    return Response(body=answer.body, status_code=answer.status, headers={"Content-Type": answer.content_type})


# --- the citizen web page (shared/intake/web.py): HTML forms that work without JavaScript, files straight to S3 ---


@app.route("/", methods=["GET"])
@public_page(app)
def get_page(settings: Settings, where: Site, request: Request) -> Page:
    from shared.intake import web

    params = request.query_params
    # After an upload without JavaScript, S3 redirects here with the new file as `key`.
    attachments = [key for name in ("attachment", "key") if params and name in params for key in params.getlist(name)]
    return web.form_page(settings, where, client_ip(request), attachments)


@app.route("/", methods=["POST"], content_types=["*/*"])
@public_page(app)
def post_page(settings: Settings, where: Site, request: Request) -> Page:
    from shared.intake import web

    content_type = request.headers.get("content-type", "")
    return web.submit_form(settings, raw_body(request), content_type, client_ip(request), where)


@app.route("/status", methods=["GET"])
@public_page(app)
def get_status_page(settings: Settings, where: Site, request: Request) -> Page:
    from shared.intake import web

    params = query_params(request)
    return web.status_page(settings, where, params.get("no", ""), params.get("code", ""), client_ip(request))


@app.route("/feedback", methods=["GET"])
@public_page(app)
def get_feedback_page(settings: Settings, where: Site, request: Request) -> Page:
    from shared.intake import callbacks

    params = query_params(request)
    return callbacks.feedback_page(where, params.get("no", ""), params.get("code", ""))


@app.route("/feedback", methods=["POST"], content_types=["*/*"])
@public_page(app)
def post_feedback_page(settings: Settings, where: Site, request: Request) -> Page:
    from shared.intake import callbacks

    content_type = request.headers.get("content-type", "")
    return callbacks.submit_feedback_form(settings, where, raw_body(request), content_type, client_ip(request))


# Opinion forms for enterprises (shared/intake/surveys.py): one answer per one-time link `?t=`.
@app.route("/surveys/{survey_id}", methods=["GET"])
@public_page(app)
def get_survey_page(settings: Settings, where: Site, request: Request, survey_id: str) -> Page:
    from shared.intake import surveys

    return surveys.survey_page(settings, where, survey_id, query_params(request).get("t", ""))


@app.route("/surveys/{survey_id}", methods=["POST"], content_types=["*/*"])
@public_page(app)
def post_survey_page(settings: Settings, where: Site, request: Request, survey_id: str) -> Page:
    from shared.intake import surveys

    token = query_params(request).get("t", "")
    content_type = request.headers.get("content-type", "")
    return surveys.submit_survey(settings, where, survey_id, token, raw_body(request), content_type, client_ip(request))


@app.route("/uploads", methods=["POST"], content_types=["*/*"])
@guarded
def post_upload() -> Response:
    from shared.intake import web

    request = current_request(app)
    content_type = request.headers.get("content-type", "")
    answer = web.request_upload(get_settings(), raw_body(request), content_type, client_ip(request))
    return json_response(answer.status, answer.body)


@app.route("/assets/{name}", methods=["GET"])
@guarded
def get_asset(name: str) -> Response:
    from shared.intake import web

    content_type, text = web.asset(name)
    return Response(body=text, status_code=200, headers={"Content-Type": content_type, "Cache-Control": "max-age=300"})


# Published typical cases (shared/core/published.py): public, redacted, no authentication.
@app.route("/cases/published", methods=["GET"])
@public_page(app)
def get_published_page(settings: Settings, where: Site, request: Request) -> Page:
    from shared.intake import web

    return web.published_page(settings, where)


@app.route("/cases/published.json", methods=["GET"])
@guarded
def get_published_feed() -> Response:
    from shared.core import published

    return json_response(200, {"items": published.published(get_settings())}, {"Cache-Control": "max-age=60"})


# Answers to questions (咨询) the county legal office published: public, redacted, for the public and the media.
@app.route("/answers", methods=["GET"])
@public_page(app)
def get_answers_page(settings: Settings, where: Site, request: Request) -> Page:
    from shared.intake import web

    return web.answers_page(settings, where)


@app.route("/answers.json", methods=["GET"])
@guarded
def get_answers_feed() -> Response:
    from shared.core import published

    items = published.published_answers(get_settings())
    return json_response(200, {"items": items}, {"Cache-Control": "max-age=60"})


@app.route("/openapi.json", methods=["GET"])
@guarded
def get_openapi() -> Response:
    from shared.intake import openapi

    return json_response(200, openapi.document(app.routes, get_settings().intake_base_path))


@app.route("/health", methods=["GET"])
@guarded
def health() -> Response:
    return http.health("intake")
