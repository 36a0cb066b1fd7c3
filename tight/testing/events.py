"""Realistic events for every kind of function Tight serves, and a Lambda context.

``make_event("POST", "/items", body={...}, kind="http")`` builds what API Gateway (REST or
HTTP API), an ALB or a function URL would send for that request; a dict or list body is
JSON-encoded with a JSON Content-Type, and ``principal_id`` is placed where that kind's
authorizer puts the caller.

``authorizer_request`` builds what a Lambda authorizer gets for a request. ``sqs``, ``sns``,
``s3``, ``kinesis``, ``dynamodb_stream``, ``eventbridge`` and ``schedule`` build the events
those services send, shaped as AWS documents them (the project's tests compare them with
the documented examples). ``events`` bundles them all for the plugin's
``event`` fixture: ``event("GET", "/")``, ``event.sqs(bodies=[...])``, ...
"""

import base64
import hashlib
import itertools
import json
import time
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

KINDS = ("rest", "http", "alb", "url")
REST_IDENTITY_FIELDS = (
    "accessKey", "accountId", "caller", "cognitoAuthenticationProvider",
    "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId",
    "sourceIp", "user", "userAgent", "userArn",
)  # fmt: skip
ACCOUNT = "123456789012"
REGION = "us-east-1"


def _authorizer(kind: str, principal_id: str | None) -> dict[str, Any] | None:
    if principal_id is None:
        return None
    if kind == "rest":  # a Lambda authorizer; Cognito user pools put it in claims.sub
        return {"principalId": principal_id, "claims": {"sub": principal_id}}
    if kind == "http":  # a JWT authorizer
        return {"jwt": {"claims": {"sub": principal_id}, "scopes": None}}
    raise ValueError(
        f"{kind} events carry no authorizer, so they cannot have a principal_id; "
        "use kind='rest' or kind='http'"
    )


def make_event(
    method: str = "GET",
    path: str = "/",
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str | list[str]] | None = None,
    path_params: dict[str, str] | None = None,
    principal_id: str | None = None,
    kind: str = "rest",
    *,
    cookies: dict[str, str] | None = None,
    base64_body: bool = False,
    multi_value: bool = False,
    authorizer: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An event as ``kind`` ('rest', 'http', 'alb' or 'url') would send this request."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    method = method.upper()
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    if base64_body and body is not None:
        raw = body if isinstance(body, bytes) else str(body).encode()
        body = base64.b64encode(raw).decode()
    elif isinstance(body, bytes):
        body, base64_body = base64.b64encode(body).decode(), True
    if authorizer is None:
        authorizer = _authorizer(kind, principal_id)
    request_id = request_id or str(uuid.uuid4())
    multi_query = {k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()}
    cookie_pairs = [f"{k}={v}" for k, v in (cookies or {}).items()]

    if kind in ("http", "url"):
        return _v2_event(
            kind, method, path, body, headers, multi_query, path_params, cookie_pairs,
            base64_body, authorizer, request_id,
        )  # fmt: skip
    if cookie_pairs:
        headers["Cookie"] = "; ".join(cookie_pairs)
    if kind == "alb":
        return _alb_event(method, path, body, headers, multi_query, base64_body, multi_value)
    return _rest_event(
        method, path, body, headers, multi_query, path_params, base64_body, authorizer, request_id
    )


def _v2_event(
    kind: str,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    multi_query: dict[str, list[str]],
    path_params: dict[str, str] | None,
    cookie_pairs: list[str],
    base64_body: bool,
    authorizer: dict[str, Any] | None,
    request_id: str,
) -> dict[str, Any]:
    domain = f"abc123.lambda-url.{REGION}.on.aws" if kind == "url" else "api.example.com"
    route_key = "$default" if kind == "url" else f"{method} {path}"
    context: dict[str, Any] = {
        "accountId": ACCOUNT,
        "apiId": "abc123",
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.9",
            "userAgent": "tight-tests",
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
        "timeEpoch": int(time.time() * 1000),
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode([(k, v) for k, vs in multi_query.items() for v in vs]),
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": context,
        "isBase64Encoded": base64_body,
    }
    if kind == "url":  # a function URL writes these out as null; an HTTP API leaves them out
        context["authentication"] = None
        event.update(pathParameters=None, stageVariables=None)
    if cookie_pairs:
        event["cookies"] = cookie_pairs
    if multi_query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in multi_query.items()}
    if path_params:
        event["pathParameters"] = path_params
    if body is not None:
        event["body"] = body
    return event


def _alb_event(
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    multi_query: dict[str, list[str]],
    base64_body: bool,
    multi_value: bool,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:"
                "targetgroup/tight/0123456789abcdef"
            }
        },
        "httpMethod": method,
        "path": path,
        "body": body if body is not None else "",
        "isBase64Encoded": base64_body,
    }
    # ALB passes the query string still percent-encoded.
    encoded = {quote(k): [quote(v) for v in vs] for k, vs in multi_query.items()}
    if multi_value:
        event["multiValueHeaders"] = {k.lower(): [v] for k, v in headers.items()}
        event["multiValueQueryStringParameters"] = encoded
    else:
        event["headers"] = {k.lower(): v for k, v in headers.items()}
        event["queryStringParameters"] = {k: vs[-1] for k, vs in encoded.items()}
    return event


def _rest_event(
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    multi_query: dict[str, list[str]],
    path_params: dict[str, str] | None,
    base64_body: bool,
    authorizer: dict[str, Any] | None,
    request_id: str,
) -> dict[str, Any]:
    now = time.time()
    # The caller's identity as API Gateway sends it without IAM or Cognito auth: every
    # field there, null. (clientCert appears with mutual TLS only, apiKey with API keys.)
    identity: dict[str, Any] = dict.fromkeys(REST_IDENTITY_FIELDS)
    identity.update(sourceIp="203.0.113.9", userAgent="tight-tests")
    context: dict[str, Any] = {
        "accountId": ACCOUNT,
        "apiId": "abc123",
        "domainName": f"abc123.execute-api.{REGION}.amazonaws.com",
        "domainPrefix": "abc123",
        "extendedRequestId": base64.b64encode(uuid.uuid4().bytes[:6]).decode(),
        "httpMethod": method,
        "identity": identity,
        "path": f"/dev{path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "requestTimeEpoch": int(now * 1000),
        "resourceId": "a1b2c3",
        "resourcePath": path,
        "stage": "dev",
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: vs[-1] for k, vs in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": base64_body,
    }


def as_authorizer_event(
    event: dict[str, Any], identity: Iterable[str] = ("Authorization",)
) -> dict[str, Any]:
    """The REQUEST event API Gateway sends a Lambda authorizer for the request ``event``
    (REST or HTTP API): the request without its body, with ``type``, the route's ARN and,
    from an HTTP API (payload 2.0), the values of the ``identity`` headers."""
    context = event.get("requestContext") or {}
    api, stage = context.get("apiId", "abc123"), context.get("stage", "dev")
    base = f"arn:aws:execute-api:{REGION}:{context.get('accountId', ACCOUNT)}:{api}/{stage}"
    request = {k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")}
    if event.get("version") == "2.0":
        method = (context.get("http") or {}).get("method", "GET")
        headers = event.get("headers") or {}
        found = [headers.get(name.lower()) for name in identity]
        request.update(
            type="REQUEST",
            routeArn=f"{base}/{method}{event.get('rawPath', '/')}",
            identitySource=[value for value in found if value is not None],
        )
        return request
    path = event.get("path") or "/"
    request.update(type="REQUEST", methodArn=f"{base}/{event.get('httpMethod', 'GET')}{path}")
    return request


def authorizer_request(
    method: str = "GET",
    path: str = "/",
    headers: dict[str, str] | None = None,
    kind: str = "rest",
    identity: Iterable[str] = ("Authorization",),
    **options: Any,
) -> dict[str, Any]:
    """The event a Lambda authorizer gets for this request from a REST API (``kind="rest"``)
    or an HTTP API (``kind="http"``); ``options`` as ``make_event`` takes them."""
    if kind not in ("rest", "http"):
        raise ValueError(f"Lambda authorizers serve kind 'rest' or 'http', not {kind!r}")
    return as_authorizer_event(
        make_event(method, path, None, headers, kind=kind, **options), identity
    )


class LambdaContext:
    """What Lambda passes as ``context``: the request id, the function, the time left."""

    def __init__(
        self,
        function_name: str = "tight-test",
        timeout_seconds: float = 30.0,
        memory_limit_in_mb: int = 128,
        aws_request_id: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# -- event sources -------------------------------------------------------------------------
_sequence = itertools.count(1)


def _many(values: Any) -> list[Any]:
    """A list of the values; one str, bytes or dict is one value, not an iterable of them."""
    if values is None:
        return []
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, Iterable):
        return [values]
    return list(values)


def _text(value: Any) -> str:
    """A message body as its service carries it: dicts and lists JSON-encoded."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _epoch_ms() -> str:
    return str(int(time.time() * 1000))


def _iso_now(millis: bool = True) -> str:
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    return stamp + (f".{int(now * 1000) % 1000:03d}Z" if millis else "Z")


def _handle() -> str:
    return base64.b64encode(uuid.uuid4().bytes * 3).decode()


def _sqs_attribute(value: Any) -> dict[str, Any]:
    attribute: dict[str, Any] = {"stringListValues": [], "binaryListValues": []}
    if isinstance(value, bytes):
        attribute.update(binaryValue=base64.b64encode(value).decode(), dataType="Binary")
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        attribute.update(stringValue=str(value), dataType="Number")
    else:
        attribute.update(stringValue=str(value), dataType="String")
    return attribute


def sqs(
    bodies: Any = ("{}",),
    fifo: bool = False,
    queue: str = "tight-queue",
    group_id: str = "group-1",
    message_attributes: dict[str, Any] | None = None,
    receive_count: int = 1,
) -> dict[str, Any]:
    """A batch of SQS messages, one per body (dicts and lists are JSON-encoded). ``fifo``
    makes them come from ``<queue>.fifo``, with a group id and sequence numbers."""
    name = queue if not fifo or queue.endswith(".fifo") else f"{queue}.fifo"
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    records = []
    for body in _many(bodies):
        text = _text(body)
        sent = _epoch_ms()
        attributes = {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": sent,
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": sent,
        }
        if fifo:
            attributes["SequenceNumber"] = str(18849496460467696128 + next(_sequence))
            attributes["MessageGroupId"] = group_id
            attributes["MessageDeduplicationId"] = hashlib.sha256(text.encode()).hexdigest()
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": _handle(),
                "body": text,
                "attributes": attributes,
                "messageAttributes": {
                    k: _sqs_attribute(v) for k, v in (message_attributes or {}).items()
                },
                "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def sns(
    messages: Any = ("{}",),
    subject: str | None = None,
    topic: str = "tight-topic",
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """SNS notifications, one record per message (dicts and lists are JSON-encoded)."""
    arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}"
    subscription = f"{arn}:{uuid.uuid4()}"
    records = []
    for message in _many(messages):
        message_attributes = {
            name: {
                "Type": "Binary" if isinstance(value, bytes) else "String",
                "Value": base64.b64encode(value).decode()
                if isinstance(value, bytes)
                else str(value),
            }
            for name, value in (attributes or {}).items()
        }
        records.append(
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription,
                "EventSource": "aws:sns",
                "Sns": {
                    "SignatureVersion": "1",
                    "Timestamp": _iso_now(),
                    "Signature": base64.b64encode(uuid.uuid4().bytes * 8).decode(),
                    "SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/"
                    "SimpleNotificationService-0000000000000000000000.pem",
                    "MessageId": str(uuid.uuid4()),
                    "Message": _text(message),
                    "MessageAttributes": message_attributes,
                    "Type": "Notification",
                    "UnsubscribeUrl": f"https://sns.{REGION}.amazonaws.com/"
                    f"?Action=Unsubscribe&SubscriptionArn={subscription}",
                    "TopicArn": arn,
                    "Subject": subject,
                },
            }
        )
    return {"Records": records}


def s3(
    bucket: str = "tight-bucket",
    keys: Any = ("incoming/file.txt",),
    name: str = "ObjectCreated:Put",
    size: int = 1024,
    version_id: str | None = None,
) -> dict[str, Any]:
    """S3 notifications of ``name`` for each key in ``bucket``; keys are form-encoded as S3
    sends them (``my file!.txt`` becomes ``my+file%21.txt``)."""
    if name.startswith("s3:"):
        name = name[3:]
    records = []
    for key in _many(keys):
        obj: dict[str, Any] = {"key": quote_plus(key, safe="/")}
        if not name.startswith("ObjectRemoved"):
            obj["size"] = size
            obj["eTag"] = hashlib.md5(key.encode()).hexdigest()
        if version_id is not None:
            obj["versionId"] = version_id
        obj["sequencer"] = f"{int(time.time() * 1000):X}{next(_sequence):06X}"
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": _iso_now(),
                "eventName": name,
                "userIdentity": {"principalId": "AWS:AIDAINPONIXQXHT3IKHL2"},
                "requestParameters": {"sourceIPAddress": "203.0.113.9"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": base64.b64encode(uuid.uuid4().bytes * 3).decode(),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "tight-notification",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3I5XTEXAMAI3E"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        )
    return {"Records": records}


def kinesis(
    data: Any = ("{}",),
    partition_key: str = "1",
    stream: str = "tight-stream",
) -> dict[str, Any]:
    """Kinesis records, one per item of ``data`` (bytes as they are, str encoded as UTF-8,
    anything else JSON-encoded), base64-encoded as Kinesis sends them."""
    arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream}"
    records = []
    for item in _many(data):
        raw = item if isinstance(item, bytes) else _text(item).encode()
        sequence = str(49590338271490256608559692538361571095921575989136588898 + next(_sequence))
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": partition_key,
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(raw).decode(),
                    "approximateArrivalTimestamp": round(time.time(), 3),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"shardId-000000000006:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/lambda-role",
                "awsRegion": REGION,
                "eventSourceARN": arn,
            }
        )
    return {"Records": records}


def dynamodb_value(value: Any) -> dict[str, Any]:
    """A plain Python value in DynamoDB's typed JSON (``7`` -> ``{"N": "7"}``)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": str(value) if not isinstance(value, float) else repr(value)}
    value = getattr(value, "value", value)  # boto3's Binary
    if isinstance(value, (bytes, bytearray)):
        return {"B": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {"M": {str(k): dynamodb_value(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [dynamodb_value(v) for v in value]}
    if isinstance(value, (set, frozenset)) and value:
        items = sorted(value, key=repr)
        if all(isinstance(v, str) for v in items):
            return {"SS": items}
        if all(isinstance(v, bytes) for v in items):
            return {"BS": [base64.b64encode(v).decode() for v in items]}
        if all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in items):
            return {"NS": [str(v) for v in items]}
    raise TypeError(f"{value!r} cannot be stored in DynamoDB (an empty or mixed set?)")


def _image(item: Any) -> tuple[dict[str, Any], list[str]]:
    """An item (a model instance or a dict) in typed JSON, and the names of its keys."""
    if hasattr(item, "to_item") and hasattr(item, "hash_key"):
        keys = [k for k in (item.hash_key, item.range_key) if k]
        names = [item.attributes[k].name for k in keys]
        return {k: dynamodb_value(v) for k, v in item.to_item().items()}, names
    if not isinstance(item, dict) or not item:
        raise TypeError(f"a DynamoDB item is a model instance or a non-empty dict, not {item!r}")
    return {str(k): dynamodb_value(v) for k, v in item.items()}, [str(next(iter(item)))]


def dynamodb_stream(
    items: Any,
    event_name: str = "INSERT",
    old_items: Any = None,
    keys: list[str] | None = None,
    table: str = "tight-table",
    view_type: str = "NEW_AND_OLD_IMAGES",
) -> dict[str, Any]:
    """DynamoDB stream records, one per item (model instances or dicts of plain values).

    ``event_name`` is INSERT (a new image), MODIFY (new and old images; ``old_items`` gives
    the old ones, default the same items) or REMOVE (the item as the old image). The key is
    the model's, or ``keys``, or a dict's first attribute.
    """
    if event_name not in ("INSERT", "MODIFY", "REMOVE"):
        raise ValueError(f"event_name must be INSERT, MODIFY or REMOVE, not {event_name!r}")
    news = _many(items)
    olds = _many(old_items) if old_items is not None else news
    if len(olds) != len(news):
        raise ValueError("give one old item per item")
    stream = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/2024-01-01T00:00:00.000"
    records = []
    for new, old in zip(news, olds, strict=True):
        image, key_names = _image(new)
        old_image, _ = _image(old)
        key_names = keys or key_names
        change: dict[str, Any] = {"Keys": {k: image[k] for k in key_names if k in image}}
        if event_name != "REMOVE" and view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            change["NewImage"] = image
        if event_name != "INSERT" and view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            change["OldImage"] = image if event_name == "REMOVE" else old_image
        change["SequenceNumber"] = str(100000000000000000000 + next(_sequence))
        change["SizeBytes"] = len(json.dumps(change))
        change["StreamViewType"] = view_type
        records.append(
            {
                "eventID": uuid.uuid4().hex,
                "eventName": event_name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": change,
                "eventSourceARN": stream,
            }
        )
    return {"Records": records}


def eventbridge(
    source: str = "my.app",
    detail_type: str = "Tight Event",
    detail: dict[str, Any] | None = None,
    resources: list[str] | None = None,
) -> dict[str, Any]:
    """An EventBridge event of ``source`` and ``detail_type`` carrying ``detail``."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": _iso_now(millis=False),
        "region": REGION,
        "resources": list(resources or []),
        "detail": dict(detail or {}),
    }


def schedule(rule: str = "tight-schedule") -> dict[str, Any]:
    """The event an EventBridge schedule rule sends."""
    return eventbridge(
        "aws.events",
        "Scheduled Event",
        {},
        [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"],
    )


class Events:
    """The plugin's ``event`` fixture: ``event(method, path, ...)`` builds an HTTP event, and
    ``event.sqs(...)``, ``event.sns(...)``, ... the other sources' events."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return make_event(*args, **kwargs)

    http = staticmethod(make_event)
    authorizer = staticmethod(authorizer_request)
    sqs = staticmethod(sqs)
    sns = staticmethod(sns)
    s3 = staticmethod(s3)
    kinesis = staticmethod(kinesis)
    dynamodb_stream = staticmethod(dynamodb_stream)
    eventbridge = staticmethod(eventbridge)
    schedule = staticmethod(schedule)


events = Events()
