"""The floor of a complaint submission: a bare Chalice route doing what any filing must (one S3 put, one
conditional DynamoDB put, one SQS send) and nothing else, served beside the real apps by bench/floor_stack.py so
that the intake benchmark can print intake's cost over it, same gateway, same moto."""

import uuid
from functools import cache

from chalice import Chalice, Response

from shared.core.aws import client
from shared.core.http import current_request, raw_body
from shared.core.settings import environment_settings

app = Chalice(app_name="hotspot-bench-floor", configure_logs=False)
QUEUE = "hotspot-bench-floor"  # its own queue: nothing consumes it


@cache
def _queue_url() -> str:
    return str(client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"])


@app.route("/complaints", methods=["POST"], content_types=["*/*"])
def post_complaint() -> Response:
    settings = environment_settings()
    number = uuid.uuid4().hex
    body = raw_body(current_request(app))
    client("s3").put_object(Bucket=settings.raw_bucket, Key=f"raw/bench-floor/{number}", Body=body)
    client("dynamodb").put_item(
        TableName=settings.cases_table,
        Item={"pk": {"S": f"BENCHFLOOR#{number}"}, "sk": {"S": "CASE"}},
        ConditionExpression="attribute_not_exists(pk)",
    )
    client("sqs").send_message(QueueUrl=_queue_url(), MessageBody=number)
    return Response(body={"tracking_no": number}, status_code=201)
