"""``connect()``: the DynamoDB resource and client for the app, local or in AWS.

The endpoint is the local server's when ``TIGHT_DYNAMO_ENDPOINT`` is set (a URL), or when
the original ``USE_LOCAL_DB`` is true (then ``http://127.0.0.1:<TIGHT_DYNAMO_PORT or
8000>``); AWS's otherwise. The region comes from ``AWS_REGION`` / ``AWS_DEFAULT_REGION``
(us-east-1 for a local server when neither is set). The resource is built from
``boto3_client.session()``, so the test plugin's recordings cover every call, and the
client is the resource's own (one client, not two); both are cached until the session or
the endpoint changes.
"""

import os

from tight.providers.aws.clients import boto3_client

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    Any = object

TRUTHY = ("1", "true", "yes", "on")


class Connection:
    """The boto3 DynamoDB ``resource`` and ``client`` for one endpoint."""

    __slots__ = ("_tables", "client", "endpoint", "region", "resource")

    def __init__(self, resource: Any, client: Any, endpoint: str | None, region: str | None):
        self.resource = resource
        self.client = client
        self.endpoint = endpoint
        self.region = region
        self._tables: dict[str, Any] = {}

    def table(self, name: str) -> Any:
        """The boto3 Table, made once: building one costs more than a local put."""
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = self.resource.Table(name)
        return table


def endpoint() -> str | None:
    """The local endpoint URL, or None for AWS."""
    explicit = os.environ.get("TIGHT_DYNAMO_ENDPOINT")
    if explicit:
        return explicit
    if os.environ.get("USE_LOCAL_DB", "").strip().lower() in TRUTHY:
        return f"http://127.0.0.1:{os.environ.get('TIGHT_DYNAMO_PORT', '8000')}"
    return None


def region(local: bool) -> str | None:
    found = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return found or ("us-east-1" if local else None)


_cached: tuple[Any, str | None, str | None, Connection] | None = None


def connect() -> Connection:
    """The cached connection for the current session, endpoint and region."""
    global _cached
    session = boto3_client.session()
    url = endpoint()
    where = region(url is not None)
    if _cached is not None and _cached[0] is session and _cached[1:3] == (url, where):
        return _cached[3]
    options: dict[str, Any] = {"region_name": where}
    if url:
        options["endpoint_url"] = url
    resource = session.resource("dynamodb", **options)
    # The resource already holds a client; a second one would cost ~30 ms of a cold start.
    connection = Connection(resource, resource.meta.client, url, where)
    _cached = (session, url, where, connection)
    return connection


def reset() -> None:
    """Forget the cached connection."""
    global _cached
    _cached = None
