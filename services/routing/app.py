"""Routing: the intake queue consumer, the deadline reminders and the notification sender.

Logic: shared/routing.py, shared/reminders.py, shared/notifications.py.
"""

from typing import Any

from chalice import Chalice, Rate, Response

from shared import notifications, reminders, routing
from shared.batch import PartialItemFailureResponse, process_messages
from shared.http import json_response
from shared.settings import get_settings
from shared.sms import sms_sender

app = Chalice(app_name="hotspot-routing", configure_logs=False)
settings = get_settings()


@app.on_sqs_message(queue=settings.intake_queue, batch_size=10)
def route_complaint(event: Any) -> PartialItemFailureResponse:
    return process_messages(event, lambda message: routing.route_complaint(settings, message))


@app.on_sqs_message(queue=settings.notify_queue, batch_size=10)
def send_notifications(event: Any) -> PartialItemFailureResponse:
    sender = sms_sender(settings)
    return process_messages(event, lambda message: notifications.send_notification(settings, message, sender))


@app.schedule(Rate(5, unit=Rate.MINUTES), name="remind_deadlines")
def remind_deadlines(event: Any) -> dict:
    return reminders.remind_deadlines(settings).model_dump()


@app.route("/health", methods=["GET"])
def health() -> Response:
    return json_response(200, {"status": "ok", "service": "routing"})
