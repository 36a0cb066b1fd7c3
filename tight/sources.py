"""Which AWS service sent an event that is not an HTTP request: one place for every
function kind (HTTP or event source) to recognise the others' events.

Only events recognisably from another service are named here: ``Records`` whose records
carry an ``eventSource`` (SQS, S3, Kinesis, DynamoDB streams) or ``EventSource`` (SNS), a
top-level ``eventSource`` (Kafka, Amazon MQ, DocumentDB), EventBridge's ``detail-type``,
CloudWatch Logs' ``awslogs`` and a JSON array (what EventBridge Pipes sends: a batch with no
envelope, which no HTTP source ever sends). Anything else is left to the HTTP parser, which
answers malformed requests with a 400.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    Any = object

SQS = "sqs"
SNS = "sns"
S3 = "s3"
KINESIS = "kinesis"
DYNAMODB_STREAM = "dynamodb_stream"
EVENTBRIDGE = "eventbridge"
CLOUDWATCH_LOGS = "cloudwatch_logs"
PIPES_BATCH = "pipes_batch"

# A record's eventSource (EventSource for SNS) -> the source's name in Tight.
_RECORD_SOURCES = {
    "aws:sqs": SQS,
    "aws:sns": SNS,
    "aws:s3": S3,
    "aws:kinesis": KINESIS,
    "aws:dynamodb": DYNAMODB_STREAM,
}


def event_source(event: Any) -> str | None:
    """The non-HTTP source of ``event`` ("sqs", "eventbridge", ...), or None.

    An unknown ``eventSource`` (a service Tight does not serve yet) is returned as given, so
    an error can still name it.
    """
    if not isinstance(event, dict):
        # A batch from EventBridge Pipes (or any direct invocation with an array): answering
        # it 400 would count as success, and the batch would be deleted unprocessed.
        return PIPES_BATCH if isinstance(event, list) else None
    records = event.get("Records")
    if isinstance(records, list) and records:
        first = records[0]
        if isinstance(first, dict):
            raw = first.get("eventSource") or first.get("EventSource")
            if isinstance(raw, str) and raw:
                return _RECORD_SOURCES.get(raw, raw)
    # MSK, self-managed Kafka, Amazon MQ and DocumentDB streams name their source at the
    # top level; no HTTP event has this key.
    top = event.get("eventSource")
    if isinstance(top, str) and top:
        return top
    if "detail-type" in event:
        return EVENTBRIDGE
    if "awslogs" in event:
        return CLOUDWATCH_LOGS
    return None
