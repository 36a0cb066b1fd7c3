"""The app's queue, asynchronous and stream event sources, driving its functions on the local
server (moto's, which ``doit dynamo_start`` runs) while ``doit serve`` runs.

``local_plan`` reads each function's tight.yml trigger as the template does
(``tight_tasks.event_sources.trigger_options`` for its source, ``tight_tasks.failures`` for
its retries and failure queue), with the deployed names (``<app>-<stage>-<name>``).
``LocalSources`` wires each source to its function on the server (a queue subscribed to the
topic, a queue notification on the bucket, a catch-all rule on the bus; a poller for each
SQS trigger's queue, ``tight_tasks.queue_delivery``; shard readers for the streams), a
clock for the schedules, and runs them until ``stop``. Wiring reuses what exists and
deletes nothing; a source the server lacks is created with its deployed name.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tight_tasks.async_delivery import (
    ACCOUNT,
    REGION,
    RETRY_DELAYS,
    AsyncInvoker,
    AsyncTarget,
    QueueFeed,
    bus_events,
    ensure_local_queue,
    function_arn,
    local_queue_name,
    notify_bucket,
    route_bus,
    rule_name,
    s3_events,
    sns_events,
    subscribe_topic,
)
from tight_tasks.errors import TightTaskError
from tight_tasks.failures import ASYNC_TRIGGERS, STREAM_TRIGGERS

Invoke = Callable[[str, Any], dict[str, Any]]
Report = Callable[[str], None]
DEFAULT_STREAM_BATCH = 100  # Lambda's default BatchSize for Kinesis and DynamoDB streams


@dataclass(frozen=True)
class Source:
    """One function's trigger, with the names it has on the server."""

    function: str  # the folder under app/functions
    deployed: str  # <app>-<stage>-<function>
    trigger: str  # sqs, sns, s3, eventbridge, schedule, kinesis or dynamodb_stream
    source: str  # the topic ARN or name, bucket, bus, stream, table or expression
    retries: int
    failure_queue: str  # its name (an SQS trigger's: its queue's dead-letter queue)
    options: dict[str, Any] = field(default_factory=dict)
    bisect: bool = False


def _named(app: str, stage: str, value: str) -> str:
    """A source named in tight.yml has the deployed name; one given by ARN is itself."""
    return value if value.startswith("arn:") else f"{app}-{stage}-{value}"


def _queue_source(
    app: str, stage: str, function: str, settings: dict[str, Any], raw: Any
) -> Source:
    """An SQS trigger as the template deploys it: the queue ``<app>-<stage>-<queue>``
    (``.fifo`` when FIFO) with its visibility timeout, and its dead-letter queue with the
    receives before a message moves there (none for a queue given by ARN)."""
    from tight_tasks.event_sources import queue_visibility, trigger_options
    from tight_tasks.failures import max_receive_count
    from tight_tasks.functions import DEFAULT_TIMEOUT, own_setting
    from tight_tasks.queue_delivery import dead_letter_name

    options = trigger_options("sqs", raw)
    queue = str(options["queue"])
    fifo = bool(options.get("fifo", False))
    options["visibility_timeout"] = queue_visibility(
        own_setting(settings, function, "timeout", DEFAULT_TIMEOUT), options
    )
    if queue.startswith("arn:"):
        return Source(function, f"{app}-{stage}-{function}", "sqs", queue, 0, "", options)
    name = f"{app}-{stage}-{queue}{'.fifo' if fifo else ''}"
    options["max_receive_count"] = max_receive_count(settings, options)
    return Source(
        function, f"{app}-{stage}-{function}", "sqs", name, 0, dead_letter_name(name), options
    )


def local_plan(root: Path, settings: dict[str, Any], stage: str) -> list[Source]:
    """Every queue, asynchronous and stream trigger of the app's functions."""
    from tight_tasks.config import app_name
    from tight_tasks.event_sources import trigger_options
    from tight_tasks.failures import failure_queue_name, retry_settings
    from tight_tasks.functions import app_functions, function_entry, function_trigger, read_code

    app = app_name(root, settings)
    plan: list[Source] = []
    models: dict[str, list[Any]] | None = None
    for name in app_functions(root, settings):
        entry = function_entry(settings, name)
        trigger = function_trigger(name, entry, read_code(root, name))
        if trigger == "sqs":
            plan.append(_queue_source(app, stage, name, settings, entry[trigger]))
            continue
        if trigger not in ASYNC_TRIGGERS + STREAM_TRIGGERS:
            continue
        options = trigger_options(trigger, entry[trigger])
        retry = retry_settings(settings, trigger, options)
        if trigger == "schedule":
            source = str(options["expression"]).strip()
        elif trigger == "eventbridge":
            source = str(options.get("bus") or "default")  # as given: not the stack's
        elif trigger == "dynamodb_stream":
            from tight import config
            from tight_tasks.policies import app_models, model_named

            models = models if models is not None else app_models(root)
            config.configure(app_name=app, stage=stage)
            source = model_named(models, str(options["model"]), name).table_name()
        else:
            key = {"sns": "topic", "s3": "bucket", "kinesis": "stream"}[trigger]
            source = _named(app, stage, str(options[key]))
        plan.append(
            Source(
                name,
                f"{app}-{stage}-{name}",
                trigger,
                source,
                int(retry["retries"]),
                failure_queue_name(app, stage, name),
                options,
                bool(retry.get("bisect", False)),
            )
        )
    return plan


class LocalSources:
    """Wires the plan's sources to their functions on the server and delivers until
    ``stop``. ``clients(service)`` gives a boto3 client for the local server."""

    def __init__(
        self,
        plan: list[Source],
        clients: Callable[[str], Any],
        invoke: Invoke,
        report: Report = print,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        stream_retry_delay: float | None = None,
        started: datetime | None = None,
        checkpoints: Path | None = None,
    ) -> None:
        self.plan, self.clients, self.invoke, self.report = plan, clients, invoke, report
        self.sqs = clients("sqs")
        self.invoker = AsyncInvoker(invoke, self.sqs, report, retry_delays)
        self.stream_retry_delay = stream_retry_delay
        self.started = started or datetime.now(timezone.utc)
        self.checkpoints: Any = None  # where the streams' consumers stopped (None: not kept)
        if checkpoints is not None:
            from tight_tasks.stream_delivery import Checkpoints

            self.checkpoints = Checkpoints(checkpoints)
        self.feeds: list[Any] = []
        self.pollers: list[Any] = []
        self.schedules: Any = None
        self._stopping = threading.Event()
        self._clock: threading.Thread | None = None

    # -- wiring --------------------------------------------------------------------------
    def failure_queue_url(self, name: str) -> str:
        try:
            return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])
        except self.sqs.exceptions.QueueDoesNotExist:
            from tight_tasks.failures import FAILURE_RETENTION

            attributes = {"MessageRetentionPeriod": str(FAILURE_RETENTION)}
            return str(self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])

    def target(self, source: Source) -> AsyncTarget:
        return AsyncTarget(
            source.function,
            function_arn(source.deployed),
            source.retries,
            self.failure_queue_url(source.failure_queue),
            source.trigger,
        )

    def wire(self) -> None:
        """Connect every source to its function; safe to repeat (each start does). A source
        that cannot be wired is one error line; the others run."""
        buckets: dict[str, list[dict[str, Any]]] = {}
        scheduled: dict[str, str] = {}
        for source in self.plan:
            try:
                self._wire_one(source, buckets, scheduled)
            except Exception as error:  # noqa: BLE001 - said, and the other sources run
                self.report(
                    f"error: {source.trigger} {source.source} -> {source.function} is not "
                    f"running: {error}"
                )
        for bucket, routes in buckets.items():
            try:
                notify_bucket(self.clients("s3"), bucket, routes)
            except Exception as error:  # noqa: BLE001
                self.report(f"error: bucket {bucket} notifies no function: {error}")
        if scheduled:
            self._schedules(scheduled)

    def _wire_one(
        self, source: Source, buckets: dict[str, list[dict[str, Any]]], scheduled: dict[str, str]
    ) -> None:
        if source.trigger == "schedule":
            scheduled[source.function] = source.source
            return
        if source.trigger in STREAM_TRIGGERS:
            self.pollers.append(self._stream_poller(source))
            return
        if source.trigger == "sqs":
            self.pollers.append(self._queue_poller(source))
            return
        url, arn = ensure_local_queue(self.sqs, local_queue_name(source.deployed))
        target = self.target(source)
        if source.trigger == "sns":
            sns = self.clients("sns")
            topic = source.source
            if not topic.startswith("arn:"):
                topic = sns.create_topic(Name=topic)["TopicArn"]  # the existing one
            to_events = sns_events(target, subscribe_topic(sns, topic, arn))
        elif source.trigger == "s3":
            self._ensure_bucket(source.source)
            buckets.setdefault(source.source, []).append(
                {
                    "id": f"tight-local-{source.function}",
                    "queue_arn": arn,
                    "events": source.options.get("events"),
                    "prefix": source.options.get("prefix"),
                    "suffix": source.options.get("suffix"),
                }
            )
            to_events = s3_events(target)
        else:
            events = self.clients("events")
            bus = source.source
            if bus != "default" and not bus.startswith("arn:"):
                try:
                    events.create_event_bus(Name=bus)
                except events.exceptions.ResourceAlreadyExistsException:
                    pass
            route_bus(events, bus, rule_name(local_queue_name(source.deployed)), arn)
            to_events = bus_events(target, source.options["pattern"])
        self.feeds.append(QueueFeed(self.sqs, url, to_events, self.invoker))

    def _ensure_bucket(self, bucket: str) -> None:
        s3 = self.clients("s3")
        try:
            s3.head_bucket(Bucket=bucket)
        except s3.exceptions.ClientError:
            s3.create_bucket(Bucket=bucket)

    def _queue_poller(self, source: Source) -> Any:
        from tight_tasks.queue_delivery import (
            QueuePoller,
            QueueTarget,
            ensure_queues,
            visibility_timeout,
        )

        name = source.source.rsplit(":", 1)[-1]  # a queue given by ARN is polled by name
        count = source.options.get("max_receive_count")
        url, arn, dead_letter = ensure_queues(
            self.sqs, name, int(source.options["visibility_timeout"]), count
        )
        if count is None:  # the queue's own redrive policy, if it has one
            from tight_tasks.queue_delivery import receive_limit

            count = receive_limit(self.sqs, url)
        target = QueueTarget(
            source.function,
            url,
            arn,
            int(source.options.get("batch_size", 10)),
            int(source.options.get("batch_window", 0)),
            int(count),
            dead_letter,
            visibility_timeout(self.sqs, url),
        )
        return QueuePoller(target, self.sqs, self.invoke, self.report)

    def _stream_poller(self, source: Source) -> Any:
        from tight_tasks.stream_delivery import (
            RETRY_DELAY,
            ShardDelivery,
            StreamPoller,
            StreamTarget,
            dynamodb_shards,
            kinesis_shards,
            table_stream_arn,
        )

        checkpoints = self.checkpoints
        target = StreamTarget(
            source.function,
            function_arn(source.deployed),
            int(source.options.get("batch_size", DEFAULT_STREAM_BATCH)),
            source.retries,
            source.bisect,
            self.failure_queue_url(source.failure_queue),
            str(source.options.get("starting_position", "LATEST")),
        )
        if source.trigger == "kinesis":
            kinesis = self.clients("kinesis")
            name = source.source.rsplit("/", 1)[-1]
            try:
                kinesis.describe_stream_summary(StreamName=name)
            except kinesis.exceptions.ResourceNotFoundException:
                kinesis.create_stream(StreamName=name, ShardCount=1)
            shards = kinesis_shards(
                kinesis, name, target.starting_position, checkpoints, source.function
            )
        else:
            dynamodb = self.clients("dynamodb")
            try:
                dynamodb.describe_table(TableName=source.source)
            except dynamodb.exceptions.ResourceNotFoundException:
                raise TightTaskError(
                    f"table {source.source} is not on the local server; run `doit "
                    "dynamo_start` again (it creates the models' missing tables)"
                ) from None
            try:
                stream = table_stream_arn(dynamodb, source.source)
            except TightTaskError:  # no stream yet: the template gives the table one
                dynamodb.update_table(
                    TableName=source.source,
                    StreamSpecification={
                        "StreamEnabled": True,
                        "StreamViewType": "NEW_AND_OLD_IMAGES",
                    },
                )
                stream = table_stream_arn(dynamodb, source.source)
            streams = self.clients("dynamodbstreams")
            shards = dynamodb_shards(
                streams, stream, target.starting_position, checkpoints, source.function
            )
        delay = RETRY_DELAY if self.stream_retry_delay is None else self.stream_retry_delay
        deliveries = [
            ShardDelivery(shard, target, self.invoke, self.sqs, self.report, delay, checkpoints)
            for shard in shards
        ]
        return StreamPoller(deliveries)

    def _schedules(self, expressions: dict[str, str]) -> None:
        from tight_tasks.schedules import Schedules

        by_function = {s.function: s for s in self.plan}

        def fire(function: str, when: datetime) -> None:
            from tight_tasks.schedules import scheduled_event

            source = by_function[function]
            rule = rule_name(f"{source.deployed}-schedule")  # as `doit invoke` names it
            self.invoker.submit(self.target(source), scheduled_event(rule, when, REGION, ACCOUNT))

        self.schedules = Schedules(expressions, self.started, fire)

    # -- running -------------------------------------------------------------------------
    def start(self) -> None:
        self.wire()
        self.invoker.start()
        for runner in self.feeds + self.pollers:
            runner.start()
        if self.schedules is not None:
            self._clock = threading.Thread(target=self._tick, name="tight-clock", daemon=True)
            self._clock.start()

    def _tick(self) -> None:
        while not self._stopping.is_set():
            upcoming = self.schedules.tick(datetime.now(timezone.utc))
            if upcoming is None:
                return
            wait = (upcoming - datetime.now(timezone.utc)).total_seconds()
            self._stopping.wait(min(max(wait, 0.05), 60.0))

    def halt(self) -> None:
        """Start no more invocations (``doit serve`` then stops the workers, which ends one
        running, and calls ``stop``)."""
        self._stopping.set()
        for runner in self.feeds + self.pollers:
            runner.halt()
        self.invoker.halt()

    def stop(self) -> None:
        """Stop polling; events not yet done go back on their queues for the next start."""
        self._stopping.set()
        for runner in self.feeds + self.pollers:
            runner.halt()  # all at once: each may be waiting on a long poll
        for runner in self.feeds + self.pollers:
            runner.stop()
        if self._clock is not None:
            self._clock.join()
        self.invoker.stop()


# -- under doit serve -------------------------------------------------------------------------
REPLAN_EVERY = 1.0  # seconds between two looks at tight.yml and the handlers


class ServedSources:
    """The event sources under ``doit serve``, planned again whenever tight.yml or a handler
    changes: when the plan differs (a trigger added, removed or set otherwise), the running
    sources stop, as on Ctrl-C (events in flight go back on their queues), and the new plan
    starts. A tight.yml that cannot be read keeps the sources as they were, and says why."""

    def __init__(
        self, api: Any, root: Path, stage: str, retry_delays: tuple[float, ...] = RETRY_DELAYS
    ) -> None:
        self.api, self.root, self.stage = api, root, stage
        self.retry_delays = retry_delays
        self.sources: LocalSources | None = None
        self.plan: list[Source] = []
        self.settings: Any = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self.settings = self.api.settings
        self.plan = local_plan(self.root, self.settings, self.stage)
        self.sources = self._start(self.plan)
        self._watcher = threading.Thread(target=self._watch, name="tight-replan", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stopping.wait(REPLAN_EVERY):
            try:
                self.look()
            except Exception as error:  # noqa: BLE001 - said; serve and the sources go on
                self.api.say(f"error: the event sources were not planned again: {error}")

    def look(self) -> None:
        """Plan again if the settings were read again since the last look."""
        from tight.config import ConfigError

        self.api.refresh()  # what a request does first; it reads tight.yml again if changed
        settings = self.api.settings
        if settings is self.settings:
            return
        self.settings = settings
        try:
            plan = local_plan(self.root, settings, self.stage)
        except (TightTaskError, ConfigError) as error:
            self.api.say(f"error: {error} (the event sources run as they were)")
            return
        if plan == self.plan or self._stopping.is_set():
            return
        before = {(s.trigger, s.source, s.function) for s in self.plan}
        after = {(s.trigger, s.source, s.function) for s in plan}
        changes = [f"+ {t} {s} -> {f}" for t, s, f in sorted(after - before)]
        changes += [f"- {t} {s} -> {f}" for t, s, f in sorted(before - after)]
        self.api.say(
            "the event sources changed"
            + (f" ({'; '.join(changes)})" if changes else " (their settings)")
            + ": restarting them"
        )
        if self.sources is not None:
            self.sources.halt()
            self.sources.stop()
        self.plan = plan
        self.sources = self._start(plan)
        if self.sources is None and not plan:
            self.api.say("no event sources now")

    def _start(self, plan: list[Source]) -> LocalSources | None:
        return start_for_serve(self.api, self.root, self.stage, plan, self.retry_delays)

    def halt(self) -> None:
        """No more planning and no new invocation (serve is stopping)."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()  # one restart under way ends first
        if self.sources is not None:
            self.sources.halt()

    def stop(self) -> None:
        if self.sources is not None:
            self.sources.stop()


def start_for_serve(
    api: Any,
    root: Path,
    stage: str,
    plan: list[Source] | None = None,
    retry_delays: tuple[float, ...] = RETRY_DELAYS,
) -> LocalSources | None:
    """Start the app's event sources (``plan``, by default the settings' own) on the server
    ``doit dynamo_start`` runs, invoking through serve's warm workers, an asynchronous
    event's retries ``retry_delays`` apart; None (and one line saying why) when they cannot
    run."""
    if plan is None:
        plan = local_plan(root, api.settings, stage)
    if not plan:
        return None
    names = ", ".join(sorted({source.trigger for source in plan}))
    if not api.dynamo:
        api.say(
            f"event sources ({names}) are not running: they need the local server; "
            "run `doit dynamo_start` first"
        )
        return None
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
    )
    endpoint = api.dynamo
    # Every poller may sit in a long poll at once, each on a connection of its own: past
    # urllib3's 10 it would warn on the console and reconnect.
    config = Config(
        connect_timeout=2,
        read_timeout=30,
        retries={"max_attempts": 2},
        max_pool_connections=64,
    )

    made: dict[str, Any] = {}

    def clients(service: str) -> Any:
        if service not in made:  # one client per service, shared by the threads
            made[service] = session.client(service, endpoint_url=endpoint, config=config)
        return made[service]

    try:
        clients("sqs").list_queues()
    except Exception:  # noqa: BLE001 - whatever it answers, it is no SQS
        api.say(
            f"event sources ({names}) are not running: the local server at {endpoint} "
            "serves DynamoDB only; use dynamo: {backend: moto} in tight.yml"
        )
        return None

    def invoke(function: str, event: Any) -> dict[str, Any]:
        # Once serve stops no worker starts (it would outlive serve), and an invocation the
        # stop cuts short is said to be, so that no source counts it as a failure.
        cut_short = {"error": "doit serve stopped", "stopping": True}
        if sources._stopping.is_set():
            return cut_short
        # The files are looked at first, as before each HTTP request: without it a function
        # that only an event source calls would keep its old code until a request came.
        api.refresh()
        try:
            reply = dict(api.call(function, event, unless=sources._stopping))
        except Exception:  # NotInvoked too: serve stopped while it waited its turn
            if sources._stopping.is_set():  # its worker was stopped under it
                return cut_short
            raise
        if sources._stopping.is_set() and ("error" in reply or "timeout" in reply):
            return cut_short  # it failed because the stop ended it; one that finished counts
        return reply

    sources = LocalSources(
        plan,
        clients,
        invoke,
        api.say,
        retry_delays=retry_delays,
        checkpoints=root / ".tight" / "streams.json",
    )
    try:
        sources.start()
    except Exception as error:  # noqa: BLE001 - HTTP goes on; the reason is shown
        api.say(f"error: event sources are not running: {error}")
        return None
    api.say(f"event sources on {endpoint}:")
    for source in plan:
        api.say(f"  {source.trigger:<15} {source.source}  -> {source.function}")
    return sources
