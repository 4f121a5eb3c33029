"""Public intake API: complaints in, tracking numbers out. Logic: shared/intake.py."""

from chalice import Chalice, Response

from shared import intake
from shared.http import client_ip, current_request, guarded, json_response, raw_body
from shared.settings import get_settings

app = Chalice(app_name="hotspot-intake", configure_logs=False)


@app.route("/complaints", methods=["POST"], content_types=["*/*"])
@guarded
def post_complaint() -> Response:
    request = current_request(app)
    headers = request.headers
    answer = intake.submit_complaint(
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
    request = current_request(app)
    params = request.query_params
    code = (params.get("code") if params else None) or request.headers.get("x-verification-code")
    return json_response(200, intake.complaint_status(get_settings(), tracking_no, code, client_ip(request)))


@app.route("/health", methods=["GET"])
def health() -> Response:
    return json_response(200, {"status": "ok", "service": "intake"})
