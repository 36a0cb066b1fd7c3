"""``doit template``: an AWS SAM template of the whole app, written to build/template.yml.

One ``AWS::Serverless::Function`` per ``app/functions/<name>``, its events read statically
(with ``ast``, never importing the handler) from the decorators and from tight.yml, a role
per function scoped to the tables its code imports and to its own event source, one table
per model as ``doit schema`` writes it (retained on update and delete), and the user's
``template.overlay.yml`` deep-merged on top. Any tool that reads SAM can deploy it;
``doit deploy`` does with boto3.

HTTP routes: tight.yml ``functions.<name>.routes`` (a list of paths), by default
``/<name>`` and ``/<name>/{id}``; each route gets one event per method the module registers.
"""

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tight_tasks.config import app_name
from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.files import write_atomic
from tight_tasks.taskkit import failing, param, settings_or_error
from tight_tasks.triggers import TRIGGERS

TEMPLATE_PATH = "build/template.yml"
OVERLAY_FILE = "template.overlay.yml"
ENV_FILE = "env.dist.yml"
FUNCTIONS_DIR = "app/functions"
DEFAULT_TIMEOUT = 30  # seconds: API Gateway answers 504 after 29 s anyway
DEFAULT_MEMORY = 256  # MB: Python cold starts get slow below this
CONTROLLERS_PACKAGE = "tight.providers.aws.controllers"
# The controller module a function's decorators come from -> the kind of function it is.
CONTROLLERS = {
    "lambda_proxy_event": "http",
    "sqs": "sqs",
    "sns": "sns",
    "s3": "s3",
    "kinesis": "kinesis",
    "dynamodb_stream": "dynamodb_stream",
    "eventbridge": "eventbridge",
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "options", "head")
BATCH_TRIGGERS = ("sqs", "kinesis", "dynamodb_stream")  # these report partial failures
# Model methods that write; a function whose code calls none of them only reads.
WRITE_CALLS = frozenset(
    ("save", "delete", "update", "batch_write", "put", "transaction", "create_table")
)
READ_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
]
WRITE_ACTIONS = [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
]
# Lambda sets these itself and refuses them in a function's environment.
RESERVED_ENV = re.compile(r"^(AWS_|LAMBDA_|_)|^TIGHT_(STAGE|APP)$")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL|API_?KEY|_KEY$", re.I)
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


# What Lambda's poller needs to read each polled source, and nothing more.
POLLER_ACTIONS = {
    "sqs": [
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ],
    "kinesis": [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
        "kinesis:SubscribeToShard",
    ],
    "dynamodb_stream": [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ],
}


def _poller_statement(trigger: str, resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": list(POLLER_ACTIONS[trigger]), "Resource": resource}


@dataclass
class Code:
    """What a function's own code shows without running it."""

    kind: str | None = None  # "http", "sqs", ...; None for a plain handler(event, context)
    methods: list[str] = field(default_factory=list)
    models: set[tuple[str, str | None]] = field(default_factory=set)  # (module, class or None)
    writes: bool = False


def camel(name: str) -> str:
    """A name as a CloudFormation logical id part: ``line_items`` -> ``LineItems``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


# -- reading the code -------------------------------------------------------------------------


def _module_file(root: Path, module: str) -> Path | None:
    """The app's own file for an ``app.*`` module (never app/vendored)."""
    if not module.startswith("app.") or module.startswith("app.vendored"):
        return None
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def read_code(root: Path, name: str) -> Code:
    """Walk the function's files, and the app modules they import, with ``ast``."""
    import ast

    code = Code()
    kinds: set[str] = set()
    folder = root / FUNCTIONS_DIR / name
    queue = sorted(folder.rglob("*.py"))
    seen: set[Path] = set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except SyntaxError as error:
            raise TightTaskError(
                f"{path.relative_to(root)} line {error.lineno}: {error.msg}; fix it, then run "
                "`doit template` again"
            ) from None
        controllers: dict[str, str] = {}  # local name -> controller module
        decorators: dict[str, tuple[str, str]] = {}  # local name -> (controller, attribute)
        model_names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    module = alias.name.removeprefix("app.vendored.")
                    if module.startswith(CONTROLLERS_PACKAGE + ".") and alias.asname:
                        controllers[alias.asname] = module.rsplit(".", 1)[-1]
                    elif module.startswith(CONTROLLERS_PACKAGE + "."):
                        controllers[module] = module.rsplit(".", 1)[-1]
                    if module.startswith("app.models."):
                        code.models.add((module.rsplit(".", 1)[-1], None))
                    found = _module_file(root, module)
                    if found:
                        queue.append(found)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                module = node.module.removeprefix("app.vendored.")
                for alias in node.names:
                    local = alias.asname or alias.name
                    if module == CONTROLLERS_PACKAGE:
                        controllers[local] = alias.name
                    elif module.startswith(CONTROLLERS_PACKAGE + "."):
                        decorators[local] = (module.rsplit(".", 1)[-1], alias.name)
                    elif module == "app.models":
                        code.models.add((alias.name, None))
                    elif module.startswith("app.models."):
                        code.models.add((module.rsplit(".", 1)[-1], alias.name))
                        model_names.add(local)
                    for found in (
                        _module_file(root, module),
                        _module_file(root, f"{module}.{alias.name}"),
                    ):
                        if found:
                            queue.append(found)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in WRITE_CALLS:
                    code.writes = True
                if isinstance(func, ast.Name) and func.id in model_names:
                    code.writes = True  # an instance is made to be saved
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    target = None
                    if isinstance(decorator, ast.Attribute) and isinstance(
                        decorator.value, (ast.Name, ast.Attribute)
                    ):
                        owner = ast.unparse(decorator.value)
                        if owner in controllers:
                            target = (controllers[owner], decorator.attr)
                    elif isinstance(decorator, ast.Name) and decorator.id in decorators:
                        target = decorators[decorator.id]
                    if target is None or target[0] not in CONTROLLERS:
                        continue
                    kind = CONTROLLERS[target[0]]
                    kinds.add(kind)
                    method = target[1].upper()
                    if kind == "http" and target[1] in HTTP_METHODS and method not in code.methods:
                        code.methods.append(method)
    if len(kinds) > 1:
        raise TightTaskError(
            f"app/functions/{name} registers handlers of {' and '.join(sorted(kinds))}; a "
            "function serves one kind of event: split it into two functions"
        )
    code.kind = kinds.pop() if kinds else None
    return code


def function_names(root: Path) -> list[str]:
    folder = root / FUNCTIONS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.parent.name for p in folder.glob("*/handler.py"))


# -- settings -----------------------------------------------------------------------------------


# tight.yml's keys and value types are checked when it is read (tight_tasks.config); what
# is checked here is only what needs the app's code: routes, triggers against handlers.


def _function_setting(settings: dict[str, Any], key: str, default: int) -> int:
    return int((settings.get("function") or {}).get(key, default))


def env_parameter_id(key: str) -> str:
    """The template parameter of an env.dist.yml variable: ``LOG_LEVEL`` -> ``EnvLogLevel``."""
    return "Env" + camel(key.lower())


def env_parameters(root: Path) -> dict[str, str]:
    """env.dist.yml's keys (those Lambda accepts) and their defaults."""
    import yaml

    path = root / ENV_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise TightTaskError(f"{ENV_FILE} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise TightTaskError(f"{ENV_FILE} must map variable names to default values")
    result = {}
    for key, value in data.items():
        key = str(key)
        if RESERVED_ENV.search(key):
            continue
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key):
            raise TightTaskError(
                f"{key!r} in {ENV_FILE} is not a Lambda environment variable name "
                "(letters, digits and _, starting with a letter)"
            )
        result[key] = "" if value is None else str(value)
    return result


def _cors(value: Any, api: str) -> dict[str, Any] | None:
    from tight.config import ConfigError, Cors

    try:
        cors = Cors.from_value(value)
    except ConfigError as error:
        raise TightTaskError(f"{error} (in tight.yml)") from None
    if cors is None:
        return None
    methods = list(cors.allow_methods or (m.upper() for m in HTTP_METHODS))
    if api == "http":
        result: dict[str, Any] = {
            "AllowOrigins": list(cors.allow_origins),
            "AllowMethods": methods,
            "AllowHeaders": list(cors.allow_headers),
            "MaxAge": cors.max_age,
        }
        if cors.expose_headers:
            result["ExposeHeaders"] = list(cors.expose_headers)
        if cors.allow_credentials:
            result["AllowCredentials"] = True
        return result
    if len(cors.allow_origins) > 1:
        return None  # a REST API's preflight answers one origin: the functions answer instead
    rest: dict[str, Any] = {
        "AllowOrigin": f"'{cors.allow_origins[0]}'",
        "AllowMethods": f"'{','.join(methods)}'",
        "AllowHeaders": f"'{','.join(cors.allow_headers)}'",
        "MaxAge": f"'{cors.max_age}'",
    }
    if cors.allow_credentials:
        rest["AllowCredentials"] = True
    return rest


# -- the template -------------------------------------------------------------------------------


def _arn_or_create(value: Any, what: str, function: str) -> tuple[Any, str]:
    if not isinstance(value, str) or not value:
        raise TightTaskError(
            f"functions.{function} in tight.yml: the {what} must be a name or an ARN"
        )
    if value.startswith("arn:"):
        return value, value
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
        raise TightTaskError(
            f"functions.{function} in tight.yml: {what} {value!r} may hold only letters, "
            "digits, '.', '-' and '_'"
        )
    return None, value


class Builder:
    """Collects the template's sections while each function is added."""

    def __init__(self, root: Path, settings: dict[str, Any], stage: str) -> None:
        from tight_tasks.target import Target

        self.root = root
        self.settings = settings
        self.app = app_name(root, settings)
        if not NAME.match(self.app.replace("_", "-")):
            raise TightTaskError(
                f"name {self.app!r} in tight.yml must start with a letter and hold only letters, "
                "digits, '-' and '_'"
            )
        if not NAME.match(stage) or len(stage) > 32:
            raise TightTaskError(
                f"stage {stage!r} must start with a letter and hold only letters, digits and '-' "
                "(at most 32)"
            )
        self.stage = stage
        self.prefix = f"{self.app}-${{Stage}}"
        target = Target.from_settings(settings)
        self.target = target
        self.api = str(settings.get("api") or "rest")
        self.cors = _cors(settings.get("cors"), self.api)
        self.resources: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.parameters: dict[str, Any] = {
            "Stage": {"Type": "String", "Default": stage, "Description": "the deployment stage"}
        }
        self.has_api = False
        self.models = self._models()

    def _models(self) -> dict[str, list[Any]]:
        """The app's models by module, as `doit schema` reads them."""
        from tight_tasks.schema import load_models

        by_module: dict[str, list[Any]] = {}
        for model in load_models(self.root):
            by_module.setdefault(model.__module__.rsplit(".", 1)[-1], []).append(model)
        return by_module

    def add(self, logical: str, resource: dict[str, Any]) -> str:
        if logical in self.resources and self.resources[logical] != resource:
            raise TightTaskError(f"two resources would be named {logical}; rename one of them")
        self.resources[logical] = resource
        return logical

    def tables(self) -> None:
        from tight_tasks.schema import _logical_id, table_resource

        for models in self.models.values():
            for model in models:
                logical = _logical_id(model)
                resource = table_resource(model, self.app)
                resource["DeletionPolicy"] = "Retain"
                resource["UpdateReplacePolicy"] = "Retain"
                self.add(logical, resource)
                self.outputs[f"{logical}Name"] = {
                    "Description": f"the DynamoDB table of {model.__name__}",
                    "Value": {"Ref": logical},
                }

    def model_named(self, name: str, function: str) -> Any:
        for models in self.models.values():
            for model in models:
                if name in (model.__name__, model.model_name()):
                    return model
        raise TightTaskError(
            f"functions.{function}.dynamodb_stream in tight.yml names model {name!r}, which is "
            "not in app/models; create it with `doit generate_model name=<name>`"
        )

    def function(self, name: str) -> None:
        from tight_tasks.schema import _logical_id

        code = read_code(self.root, name)
        entry = (self.settings.get("functions") or {}).get(name) or {}
        triggers = [t for t in TRIGGERS if t in entry]
        logical = camel(name) + "Function"
        if len(triggers) > 1:
            raise TightTaskError(
                f"functions.{name} in tight.yml has triggers {', '.join(triggers)}; "
                "a function has one"
            )
        if triggers and "routes" in entry:
            raise TightTaskError(
                f"functions.{name} in tight.yml has routes and a {triggers[0]} trigger; "
                "routes are for HTTP functions"
            )
        trigger = triggers[0] if triggers else None
        expected = "eventbridge" if trigger == "schedule" else trigger
        if trigger and code.kind not in (None, expected):
            raise TightTaskError(
                f"functions.{name} in tight.yml has a {trigger} trigger but "
                f"app/functions/{name}/handler.py registers {code.kind} handlers; make them agree"
            )
        if code.kind not in (None, "http") and not trigger:
            raise TightTaskError(
                f"app/functions/{name} handles {code.kind} events but tight.yml has no trigger for "
                f"it; add functions.{name}.{code.kind} (see the README's event sources)"
            )
        statements: list[dict[str, Any]] = []
        events: dict[str, Any] = {}
        if trigger:
            events, statements = self.trigger(name, trigger, entry[trigger])
        elif code.kind == "http":
            events = self.http_events(name, entry, code.methods)
        tables = self.function_tables(code)
        if tables:
            actions = READ_ACTIONS + (WRITE_ACTIONS if code.writes else [])
            resources: list[Any] = []
            for model in tables:
                arn = {"Fn::GetAtt": [_logical_id(model), "Arn"]}
                resources += [arn, {"Fn::Sub": ["${Arn}/index/*", {"Arn": arn}]}]
            statements.insert(
                0, {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}
            )
        physical = f"{self.app}-{self.stage}-{name}"
        if len(physical) > 64:
            raise TightTaskError(
                f"the function name {physical} is longer than Lambda's 64 characters; "
                "shorten the function's folder name, the app's name or the stage"
            )
        function_name = {"Fn::Sub": f"{self.prefix}-{name}"}
        role = self.role(logical, name, statements)
        properties: dict[str, Any] = {
            "FunctionName": function_name,
            "Handler": f"app_index.{name}",
            "CodeUri": f"{self.app}.zip",
            "Role": {"Fn::GetAtt": [role, "Arn"]},
        }
        if events:
            properties["Events"] = events
        self.add(logical, {"Type": "AWS::Serverless::Function", "Properties": properties})
        self.outputs[f"{logical}Name"] = {"Value": {"Ref": logical}}
        self.outputs[f"{logical}Arn"] = {"Value": {"Fn::GetAtt": [logical, "Arn"]}}

    def role(self, logical: str, name: str, statements: list[dict[str, Any]]) -> str:
        """The function's own role: its log group, its tables, its event source; no more."""
        logs = {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                f"log-group:/aws/lambda/{self.prefix}-{name}:*"
            },
        }
        role = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "function",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [logs, *statements],
                        },
                    }
                ],
            },
        }
        return self.add(logical + "Role", role)

    def function_tables(self, code: Code) -> list[Any]:
        found = []
        for module, class_name in sorted(code.models, key=lambda m: (m[0], m[1] or "")):
            for model in self.models.get(module, []):
                if class_name in (None, model.__name__) and model not in found:
                    found.append(model)
        return found

    def http_events(self, name: str, entry: dict[str, Any], methods: list[str]) -> dict[str, Any]:
        routes = entry.get("routes", [f"/{name}", f"/{name}/{{id}}"])
        if not isinstance(routes, list) or not all(
            isinstance(r, str) and r.startswith("/") for r in routes
        ):
            raise TightTaskError(
                f"functions.{name}.routes in tight.yml must be a list of paths starting with /"
            )
        if self.api == "rest" and self.cors is None and self.settings.get("cors"):
            methods = [*methods, "OPTIONS"] if "OPTIONS" not in methods else methods
        elif self.cors is not None:
            methods = [m for m in methods if m != "OPTIONS"]  # the API answers preflights
        self.api_resource()
        events: dict[str, Any] = {}
        for route in routes:
            for method in methods:
                event_id = camel(f"{method.lower()} {route}") or "Root"
                if self.api == "http":
                    events[event_id] = {
                        "Type": "HttpApi",
                        "Properties": {
                            "ApiId": {"Ref": "HttpApi"},
                            "Path": route,
                            "Method": method,
                            "PayloadFormatVersion": "2.0",
                        },
                    }
                else:
                    events[event_id] = {
                        "Type": "Api",
                        "Properties": {
                            "RestApiId": {"Ref": "Api"},
                            "Path": route,
                            "Method": method,
                        },
                    }
        return events

    def api_resource(self) -> None:
        if self.has_api:
            return
        self.has_api = True
        if self.api == "http":
            properties: dict[str, Any] = {}
            if self.cors:
                properties["CorsConfiguration"] = self.cors
            self.add("HttpApi", {"Type": "AWS::Serverless::HttpApi", "Properties": properties})
            url = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
        else:
            properties = {"StageName": {"Ref": "Stage"}}
            if self.cors:
                properties["Cors"] = self.cors
            self.add("Api", {"Type": "AWS::Serverless::Api", "Properties": properties})
            url = "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}/"
        self.outputs["ApiUrl"] = {"Description": "the API's base URL", "Value": {"Fn::Sub": url}}

    def trigger(
        self, name: str, trigger: str, raw: Any
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        options: dict[str, Any] = {"expression": raw} if trigger == "schedule" else dict(raw)
        properties: dict[str, Any] = {}
        statements: list[dict[str, Any]] = []
        if "batch_size" in options:
            properties["BatchSize"] = options["batch_size"]
        if trigger in BATCH_TRIGGERS:
            properties["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        if trigger in ("kinesis", "dynamodb_stream"):
            position = str(options.get("starting_position", "LATEST"))
            if position not in ("LATEST", "TRIM_HORIZON"):
                raise TightTaskError(
                    f"functions.{name}.{trigger}.starting_position in tight.yml: the template "
                    "takes LATEST or TRIM_HORIZON"
                )
            properties["StartingPosition"] = position
        if trigger == "sqs":
            arn, queue = _arn_or_create(options.get("queue"), "queue", name)
            if arn is None:
                fifo = bool(options.get("fifo", False))
                queue_properties: dict[str, Any] = {
                    "QueueName": {"Fn::Sub": f"{self.prefix}-{queue}{'.fifo' if fifo else ''}"},
                    # At least six times the timeout, as Lambda recommends for retries.
                    "VisibilityTimeout": min(43200, 6 * self.timeout),
                }
                if fifo:
                    queue_properties["FifoQueue"] = True
                logical = self.add(
                    camel(queue) + "Queue",
                    {"Type": "AWS::SQS::Queue", "Properties": queue_properties},
                )
                arn = {"Fn::GetAtt": [logical, "Arn"]}
                self.outputs[f"{logical}Url"] = {"Value": {"Ref": logical}}
            properties["Queue"] = arn
            statements.append(_poller_statement("sqs", arn))
            return {"Queue": {"Type": "SQS", "Properties": properties}}, statements
        if trigger == "kinesis":
            arn, stream = _arn_or_create(options.get("stream"), "stream", name)
            if arn is None:
                logical = self.add(
                    camel(stream) + "Stream",
                    {
                        "Type": "AWS::Kinesis::Stream",
                        "Properties": {
                            "Name": {"Fn::Sub": f"{self.prefix}-{stream}"},
                            "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
                        },
                    },
                )
                arn = {"Fn::GetAtt": [logical, "Arn"]}
                self.outputs[f"{logical}Name"] = {"Value": {"Ref": logical}}
            properties["Stream"] = arn
            statements.append(_poller_statement("kinesis", arn))
            return {"Stream": {"Type": "Kinesis", "Properties": properties}}, statements
        if trigger == "dynamodb_stream":
            from tight_tasks.schema import _logical_id

            model = self.model_named(str(options.get("model") or ""), name)
            table = self.resources[_logical_id(model)]
            table["Properties"].setdefault(
                "StreamSpecification", {"StreamViewType": "NEW_AND_OLD_IMAGES"}
            )
            stream_arn = {"Fn::GetAtt": [_logical_id(model), "StreamArn"]}
            properties["Stream"] = stream_arn
            statements.append(_poller_statement("dynamodb_stream", stream_arn))
            return {"Stream": {"Type": "DynamoDB", "Properties": properties}}, statements
        if trigger == "sns":
            arn, topic = _arn_or_create(options.get("topic"), "topic", name)
            if arn is None:
                logical = self.add(
                    camel(topic) + "Topic",
                    {
                        "Type": "AWS::SNS::Topic",
                        "Properties": {"TopicName": {"Fn::Sub": f"{self.prefix}-{topic}"}},
                    },
                )
                arn = {"Ref": logical}
                self.outputs[f"{logical}Arn"] = {"Value": arn}
            return {"Topic": {"Type": "SNS", "Properties": {"Topic": arn}}}, statements
        if trigger == "s3":
            arn, bucket = _arn_or_create(options.get("bucket"), "bucket", name)
            if arn is not None:
                raise TightTaskError(
                    f"functions.{name}.s3 in tight.yml: CloudFormation can only notify from a "
                    "bucket it creates; give a bucket name, or wire an existing bucket to the "
                    "function with an EventBridge rule (functions.<name>.eventbridge)"
                )
            logical = self.add(camel(bucket) + "Bucket", {"Type": "AWS::S3::Bucket"})
            self.outputs[f"{logical}Name"] = {"Value": {"Ref": logical}}
            events = options.get("events", ["s3:ObjectCreated:*"])
            s3: dict[str, Any] = {"Bucket": {"Ref": logical}, "Events": events}
            rules = [
                {"Name": key, "Value": str(options[key])}
                for key in ("prefix", "suffix")
                if options.get(key)
            ]
            if rules:
                s3["Filter"] = {"S3Key": {"Rules": rules}}
            return {"Upload": {"Type": "S3", "Properties": s3}}, statements
        if trigger == "schedule":
            expression = options["expression"].strip()
            return {
                "Schedule": {"Type": "Schedule", "Properties": {"Schedule": expression}}
            }, statements
        pattern = options["pattern"]
        event: dict[str, Any] = {"Pattern": pattern}
        return {"Rule": {"Type": "EventBridgeRule", "Properties": event}}, statements

    @property
    def timeout(self) -> int:
        return _function_setting(self.settings, "timeout", DEFAULT_TIMEOUT)

    def document(self) -> dict[str, Any]:
        self.tables()
        names = function_names(self.root)
        if not names:
            raise TightTaskError(
                f"no functions in {FUNCTIONS_DIR}; add one with "
                "`doit generate_function name=<name>`"
            )
        unknown = sorted(set(self.settings.get("functions") or {}) - set(names))
        if unknown:
            # A typo here would deploy no trigger at all, silently.
            raise TightTaskError(
                f"functions.{unknown[0]} in tight.yml names no function: there is no "
                f"{FUNCTIONS_DIR}/{unknown[0]}/handler.py; fix the name (functions here: "
                f"{', '.join(names)}) or create it with `doit generate_function name={unknown[0]}`"
            )
        ids = [camel(n) for n in names]
        if len(set(ids)) != len(ids):
            raise TightTaskError(
                "two functions' names differ only in _ or case; rename one of them"
            )
        for name in names:
            self.function(name)
        env = env_parameters(self.root)
        variables: dict[str, Any] = {"TIGHT_STAGE": {"Ref": "Stage"}, "TIGHT_APP": self.app}
        for key, default in env.items():
            logical = env_parameter_id(key)
            parameter: dict[str, Any] = {
                "Type": "String",
                "Default": default,
                "Description": f"{key} (from {ENV_FILE})",
            }
            if SECRET_NAME.search(key):
                parameter["NoEcho"] = True
            self.parameters[logical] = parameter
            variables[key] = {"Ref": logical}
        function_globals: dict[str, Any] = {
            "Runtime": f"python{self.target.python}",
            "Architectures": [self.target.architecture],
            "Timeout": self.timeout,
            "MemorySize": _function_setting(self.settings, "memory_size", DEFAULT_MEMORY),
            "LoggingConfig": {"LogFormat": "JSON"},
            "Environment": {"Variables": variables},
        }
        if self.settings.get("layer"):
            self.add(
                "DependenciesLayer",
                {
                    "Type": "AWS::Serverless::LayerVersion",
                    "Properties": {
                        "LayerName": {"Fn::Sub": f"{self.prefix}-dependencies"},
                        "ContentUri": f"{self.app}-layer.zip",
                        "CompatibleRuntimes": [f"python{self.target.python}"],
                        "CompatibleArchitectures": [self.target.architecture],
                    },
                },
            )
            function_globals["Layers"] = [{"Ref": "DependenciesLayer"}]
        return {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Transform": "AWS::Serverless-2016-10-31",
            "Description": f"{self.app}: written by `doit template` from app/ and tight.yml",
            "Parameters": self.parameters,
            "Globals": {"Function": function_globals},
            "Resources": self.resources,
            "Outputs": self.outputs,
        }


def deep_merge(base: Any, overlay: Any) -> Any:
    """``overlay`` on top of ``base``: mappings merge key by key, a null removes the key,
    anything else replaces."""
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return overlay
    merged = dict(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = deep_merge(base.get(key), value)
    return merged


def build_template(root: Path, settings: dict[str, Any], stage: str) -> dict[str, Any]:
    import yaml

    document = Builder(root, settings, stage).document()
    overlay_path = root / OVERLAY_FILE
    if overlay_path.is_file():
        try:
            overlay = yaml.safe_load(overlay_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise TightTaskError(f"{OVERLAY_FILE} is not valid YAML: {error}") from None
        if not isinstance(overlay, dict):
            raise TightTaskError(f"{OVERLAY_FILE} must be a mapping, merged onto the template")
        document = deep_merge(document, overlay)
    return document


def write_template(root: Path, settings: dict[str, Any], stage: str) -> Path:
    """Write build/template.yml atomically."""
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True  # no &id001 anchors: the same ARN is written out where it is used

    document = build_template(root, settings, stage)
    path = root / TEMPLATE_PATH
    text = yaml.dump(document, Dumper=Dumper, sort_keys=False, default_flow_style=False, width=100)
    return write_atomic(path, text)


def stage_of(stage: str, settings: dict[str, Any]) -> str:
    return stage or str(settings.get("stage") or "dev")


def template_inputs(root: Path) -> list[str]:
    """Every file the template is made from (the app's own sources, not app/vendored)."""
    from tight_tasks.artifact import app_sources

    names = ["tight.yml", ENV_FILE, OVERLAY_FILE]
    files = [name for name in names if (root / name).is_file()]
    return files + [p.relative_to(root).as_posix() for p in app_sources(root) if p.suffix == ".py"]


# Task creators: `doit list` shows each docstring; the work is the functions above.


def _made_from(root: Path, settings: dict[str, Any], stage: str) -> str:
    """What decides the template beside its files' contents: which files there are, the
    stage, and this module (another Tight may write another template)."""
    own = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    return repr((template_inputs(root), stage_of(stage, settings), own))


def _template(stage: str) -> dict[str, str]:
    from tight_tasks.config import load

    root = Path.cwd()
    settings = load(root)
    path = write_template(root, settings, stage_of(stage, settings))
    print(f"wrote {path.relative_to(root).as_posix()}")
    return {"made_from": _made_from(root, settings, stage)}


def _template_unchanged(task: Any, values: dict[str, Any]) -> bool:
    from doit import get_var

    from tight_tasks.config import load

    root = Path.cwd()
    # The stage as given: stage=prod (a doit variable) or --stage prod (a task option).
    stage = (task.options or {}).get("stage") or get_var("stage", "")
    return bool(values.get("made_from") == _made_from(root, load(root), stage))


def task_template() -> dict[str, Any]:
    """Write build/template.yml: an AWS SAM template of every function, table and event source."""
    root, settings, problem = settings_or_error()
    if settings is None:
        return failing(problem or "no tight.yml")
    return {
        "actions": [(as_action(_template),)],
        "params": [param("stage", "the stage named in the template's resources (default: dev)")],
        "file_dep": template_inputs(root),
        "targets": [TEMPLATE_PATH],
        # A new input file, another stage or another Tight writes the template again.
        "uptodate": [_template_unchanged],
        "verbosity": 2,
    }
