"""Public intake API: complaints in, tracking numbers out. Logic: shared/intake.py."""

from chalice import Chalice, Response

from shared import intake
from shared.http import guarded, json_response
from shared.settings import get_settings

app = Chalice(app_name="hotspot-intake", configure_logs=False)


@app.route("/complaints", methods=["POST"], content_types=["*/*"])
@guarded
def post_complaint() -> Response:
    request = app.current_request
    headers = request.headers
    answer = intake.submit_complaint(
        get_settings(), request.raw_body or b"", headers.get("content-type", ""), headers.get("idempotency-key")
    )
    replay = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return json_response(answer.status, answer.body, replay)


@app.route("/complaints/{tracking_no}", methods=["GET"])
@guarded
def get_complaint(tracking_no: str) -> Response:
    request = app.current_request
    code = (request.query_params or {}).get("code") or request.headers.get("x-verification-code")
    return json_response(200, intake.complaint_status(get_settings(), tracking_no, code))


@app.route("/health", methods=["GET"])
def health() -> Response:
    return json_response(200, {"status": "ok", "service": "intake"})

