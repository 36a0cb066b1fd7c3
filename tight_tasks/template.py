"""``doit template``: an AWS SAM template of the whole app, written to build/template.yml.

The assembly: one ``AWS::Serverless::Function`` per ``app/functions/<name>``
(``tight_tasks.functions`` reads its code with ``ast``, never importing the handler), its API
events one per row of the route table (``tight_tasks.routes``) or its event source
(``tight_tasks.event_sources``), its own role and the app's tables (``tight_tasks.policies``),
the env.dist.yml parameters, and the user's ``template.overlay.yml`` deep-merged on top. Any
tool that reads SAM can deploy it; ``doit deploy`` does with boto3. The task creator and its
up-to-date check close the module.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tight_tasks.config import app_name
from tight_tasks.errors import TightTaskError, as_action
from tight_tasks.files import write_atomic
from tight_tasks.taskkit import failing, settings_or_error, stage_param

if TYPE_CHECKING:
    from tight.config import Cors
    from tight_tasks.auth import Auth
    from tight_tasks.functions import Code
    from tight_tasks.routes import Route

TEMPLATE_PATH = "build/template.yml"
OVERLAY_FILE = "template.overlay.yml"
ENV_FILE = "env.dist.yml"
# Lambda sets these itself and refuses them in a function's environment.
RESERVED_ENV = re.compile(r"^(AWS_|LAMBDA_|_)|^TIGHT_(STAGE|APP)$")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
# The code that decides what the template says, beside the app's own files: a template
# written by another version of any of it is written again. The toolkit's modules, and the
# runtime's CORS defaults and models (a table's keys, indexes and stream come from them).
TEMPLATE_MODULES = (
    "template.py",
    "openapi.py",
    "describe.py",
    "functions.py",
    "routes.py",
    "event_sources.py",
    "policies.py",
    "failures.py",
    "model_uses.py",
    "schema.py",
    "triggers.py",
    "aws_rules.py",
    "auth.py",
    "iam.py",
    "target.py",
    "config.py",
)
REST_OPENAPI_VERSION = "2.0"  # any version stops the extra stage; 2.0 keeps the body as it was
RUNTIME_MODULES = ("config.py", "models.py", "models/**/*.py", "idempotency.py")


# -- parameters ---------------------------------------------------------------------------------


def env_parameter_id(key: str) -> str:
    """The template parameter of an env.dist.yml variable: ``LOG_LEVEL`` -> ``EnvLogLevel``."""
    from tight_tasks.functions import camel

    return "Env" + camel(key.lower())


def env_parameters(root: Path) -> dict[str, str]:
    """env.dist.yml's keys (those Lambda accepts) and their defaults, read by the one env
    file reader (a repeated key, invalid YAML or an unknown LOG_LEVEL name their line)."""
    from tight_tasks.env import read_env_file

    path = root / ENV_FILE
    if not path.is_file():
        return {}
    data = read_env_file(path)
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


def check_parameter_ids(keys: Iterable[str]) -> None:
    """Refuse env.dist.yml keys that would be one template parameter (``API_KEY`` and
    ``api_key`` are both ``EnvApiKey``): the second would silently take the first's value."""
    seen: dict[str, str] = {}
    for key in keys:
        logical = env_parameter_id(key)
        first = seen.setdefault(logical, key)
        if first != key:
            raise TightTaskError(
                f"{ENV_FILE}: {first} and {key} would both be the template parameter "
                f"{logical}; rename or remove one of them"
            )


def sam_cors(cors: Cors | None, api: str) -> dict[str, Any] | None:
    """The API's own CORS (``tight_tasks.routes.api_cors``) as SAM writes it for ``api``."""
    from tight_tasks.functions import HTTP_METHODS

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
    rest: dict[str, Any] = {
        "AllowOrigin": f"'{cors.allow_origins[0]}'",
        "AllowMethods": f"'{','.join(methods)}'",
        "AllowHeaders": f"'{','.join(cors.allow_headers)}'",
        "MaxAge": f"'{cors.max_age}'",
    }
    if cors.allow_credentials:
        rest["AllowCredentials"] = True
    return rest


def api_event(route: Route, authorizer: str | None = None) -> dict[str, Any]:
    """The SAM event of one route-table row; ``authorizer`` names the API's authorizer that
    guards it (``AWS_IAM`` for iam; None for an open route)."""
    if route.api == "http":
        event: dict[str, Any] = {
            "Type": "HttpApi",
            "Properties": {
                "ApiId": {"Ref": "HttpApi"},
                "Path": route.path,
                "Method": route.method,
                "PayloadFormatVersion": "2.0",
            },
        }
    else:
        event = {
            "Type": "Api",
            "Properties": {"RestApiId": {"Ref": "Api"}, "Path": route.path, "Method": route.method},
        }
    if authorizer:
        event["Properties"]["Auth"] = {"Authorizer": authorizer}
        if route.auth is not None and route.auth.scopes:
            # The route's own OAuth scopes (jwt, cognito): SAM writes them into the route's
            # security, which API Gateway reads as the route's (the method's) scopes.
            event["Properties"]["Auth"]["AuthorizationScopes"] = list(route.auth.scopes)
    return event


AWS_IAM_SCHEME = {
    "x-amazon-apigateway-authtype": "awsSigv4",
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
}


def without_security(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with no ``security`` and no ``securitySchemes``: as a REST API's
    definition, SAM writes those from each event's ``Auth`` (``sam_authorizers``), and its
    merge would drop the document's schemes that its own have the name of (``AWS_IAM``),
    leaving routes that name a scheme no longer there."""
    import copy

    document = copy.deepcopy(document)
    (document.get("components") or {}).pop("securitySchemes", None)
    for operations in (document.get("paths") or {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    return document


def function_arn(name: str) -> dict[str, Any]:
    from tight_tasks.functions import camel

    return {"Fn::GetAtt": [camel(name) + "Function", "Arn"]}


def sam_authorizers(names: dict[Auth, str], api: str) -> dict[str, Any]:
    """The API's ``Auth.Authorizers`` in SAM's words: JWT (HTTP API; Cognito there too,
    as AWS advises, with the pool as issuer), Cognito (REST) and Lambda authorizers
    (REQUEST on REST, simple responses on HTTP API), each with its identity and cache."""
    authorizers: dict[str, Any] = {}
    for auth, name in names.items():
        if auth.kind == "function":
            identity = {"Headers": list(auth.headers), "ReauthorizeEvery": auth.ttl}
            if api == "http":
                authorizers[name] = {
                    "FunctionArn": function_arn(auth.function),
                    "AuthorizerPayloadFormatVersion": "2.0",
                    "EnableSimpleResponses": True,
                    "Identity": identity,
                }
            else:
                authorizers[name] = {
                    "FunctionPayloadType": "REQUEST",
                    "FunctionArn": function_arn(auth.function),
                    "Identity": identity,
                }
        elif api == "http":  # jwt, or cognito as a JWT authorizer
            authorizers[name] = {
                "JwtConfiguration": {"issuer": auth.issuer, "audience": list(auth.audience)},
                "IdentitySource": "$request.header.Authorization",
            }
        else:  # cognito on a REST API
            region = auth.user_pool.split("_", 1)[0]
            arn = auth.user_pool_arn or {
                "Fn::Sub": f"arn:${{AWS::Partition}}:cognito-idp:{region}:${{AWS::AccountId}}:"
                f"userpool/{auth.user_pool}"
            }
            authorizers[name] = {"UserPoolArn": arn, "Identity": {"Header": "Authorization"}}
    return authorizers


# -- the template -------------------------------------------------------------------------------


class Builder:
    """Collects the template's sections while each function is added."""

    def __init__(self, root: Path, settings: dict[str, Any], stage: str) -> None:
        from tight_tasks.policies import app_models
        from tight_tasks.routes import api_cors, api_kind
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
        self.api = api_kind(settings)
        self.cors = sam_cors(api_cors(settings), self.api)
        self.resources: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.parameters: dict[str, Any] = {
            "Stage": {"Type": "String", "Default": stage, "Description": "the deployment stage"}
        }
        self.has_api = False
        self.models = app_models(root)
        self.authorizers: dict[Auth, str] = {}  # the route table's, named (tight_tasks.auth)
        self.iam = False  # a route is iam: an HTTP API turns its IAM authorizer on
        # Per function, the statements its own code needs (tables, tight.yml's permissions),
        # beside those Lambda uses for it (logs, polling, failures): `doit permissions`
        # hints at the ones no recorded call used.
        self.code_statements: dict[str, list[dict[str, Any]]] = {}

    def add(self, logical: str, resource: dict[str, Any]) -> str:
        if logical in self.resources and self.resources[logical] != resource:
            raise TightTaskError(f"two resources would be named {logical}; rename one of them")
        self.resources[logical] = resource
        return logical

    def tables(self) -> None:
        from tight_tasks.policies import model_tables

        for logical, resource, output in model_tables(self.models, self.app):
            self.add(logical, resource)
            self.outputs[f"{logical}Name"] = output

    def function(self, name: str, code: Code, rows: list[Route]) -> None:
        """The function, its role and its events: ``rows`` are its rows of the route
        table, or its tight.yml trigger gives its event source."""
        from tight_tasks.event_sources import source_events, trigger_options
        from tight_tasks.failures import on_failure
        from tight_tasks.functions import camel, function_entry, function_trigger
        from tight_tasks.policies import function_role, permission_statements, table_statements

        entry = function_entry(self.settings, name)
        trigger = function_trigger(name, entry, code)
        logical = camel(name) + "Function"
        statements: list[dict[str, Any]] = []
        events: dict[str, Any] = {}
        failure_properties: dict[str, Any] = {}
        if trigger:
            events, statements = source_events(self, name, trigger, entry[trigger])
            options = trigger_options(trigger, entry[trigger])
            failure_properties = on_failure(self, name, trigger, options, events, statements)
        elif code.kind == "http":
            self.api_resource()
            events = {row.event: api_event(row, row.authorizer) for row in rows}
        own = table_statements(self.models, name, code)
        if code.idempotent:
            from tight_tasks.policies import idempotency_statement

            own.insert(0, idempotency_statement())
        own += permission_statements(entry)
        statements[:0] = own
        self.code_statements[name] = own
        physical = f"{self.app}-{self.stage}-{name}"
        if len(physical) > 64:
            raise TightTaskError(
                f"the function name {physical} is longer than Lambda's 64 characters; "
                "shorten the function's folder name, the app's name or the stage"
            )
        function_name = {"Fn::Sub": f"{self.prefix}-{name}"}
        role = self.add(logical + "Role", function_role(self.prefix, name, statements))
        properties: dict[str, Any] = {
            "FunctionName": function_name,
            "Handler": f"app_index.{name}",
            "CodeUri": f"{self.app}.zip",
            "Role": {"Fn::GetAtt": [role, "Arn"]},
        }
        properties.update(self.own_settings(name, entry))
        if events:
            properties["Events"] = events
        properties.update(failure_properties)
        self.add(logical, {"Type": "AWS::Serverless::Function", "Properties": properties})
        self.outputs[f"{logical}Name"] = {"Value": {"Ref": logical}}
        self.outputs[f"{logical}Arn"] = {"Value": {"Fn::GetAtt": [logical, "Arn"]}}

    def own_settings(self, name: str, entry: dict[str, Any]) -> dict[str, Any]:
        """The function's own timeout and memory where they differ from every function's
        (Globals), and its reserved concurrency."""
        from tight_tasks.functions import DEFAULT_MEMORY, function_setting, own_setting

        properties: dict[str, Any] = {}
        if self.timeout_of(name) != self.timeout:
            properties["Timeout"] = self.timeout_of(name)
        memory = own_setting(self.settings, name, "memory_size", DEFAULT_MEMORY)
        if memory != function_setting(self.settings, "memory_size", DEFAULT_MEMORY):
            properties["MemorySize"] = memory
        if entry.get("reserved_concurrency") is not None:
            properties["ReservedConcurrentExecutions"] = int(entry["reserved_concurrency"])
        return properties

    def api_resource(self) -> None:
        if self.has_api:
            return
        self.has_api = True
        if self.api == "http":
            if self.settings.get("api_definition"):
                raise TightTaskError(
                    "api_definition in tight.yml attaches the OpenAPI document to a REST API; "
                    "set api: rest, or remove api_definition (doit openapi still writes it)"
                )
            properties: dict[str, Any] = {}
            if self.cors:
                properties["CorsConfiguration"] = self.cors
            auth: dict[str, Any] = {}
            if self.authorizers:
                auth["Authorizers"] = sam_authorizers(self.authorizers, "http")
            if self.iam:
                auth["EnableIamAuthorizer"] = True
            if auth:
                properties["Auth"] = auth
            self.authorizer_permissions()
            self.add("HttpApi", {"Type": "AWS::Serverless::HttpApi", "Properties": properties})
            url = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
        else:
            properties = {
                # A name of its own (an emulator such as moto needs one, and the console
                # shows it), and an OpenAPI version, without which SAM also deploys a
                # stage named "Stage" beside the app's own.
                "Name": {"Fn::Sub": self.prefix},
                "StageName": {"Ref": "Stage"},
                "OpenApiVersion": REST_OPENAPI_VERSION,
            }
            if self.cors:
                properties["Cors"] = self.cors
            if self.authorizers:
                properties["Auth"] = {"Authorizers": sam_authorizers(self.authorizers, "rest")}
            from tight_tasks.routes import binary_media_types

            # SAM wants each "/" written "~1" in BinaryMediaTypes.
            properties["BinaryMediaTypes"] = [
                t.replace("/", "~1") for t in binary_media_types(self.settings)
            ]
            if self.settings.get("api_definition"):
                # The app's OpenAPI document as the API's definition: its models, summaries
                # and parameters show in API Gateway; SAM merges each route's integration
                # into it (MergeDefinitions: without it SAM would leave a given body alone).
                from tight_tasks.openapi import API_GATEWAY_OPENAPI, as_openapi_30, build_document

                definition = without_security(
                    as_openapi_30(build_document(self.root, self.settings))
                )
                if self.iam:
                    # With MergeDefinitions, SAM writes the AWS_IAM scheme into a skeleton it
                    # then drops, and moves the body's securityDefinitions (where it writes
                    # the authorizers) into components: given there, AWS_IAM is kept.
                    definition["securityDefinitions"] = {"AWS_IAM": AWS_IAM_SCHEME}
                properties["DefinitionBody"] = definition
                properties["OpenApiVersion"] = API_GATEWAY_OPENAPI
                properties["MergeDefinitions"] = True
            self.add("Api", {"Type": "AWS::Serverless::Api", "Properties": properties})
            url = "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}/"
        self.outputs["ApiUrl"] = {"Description": "the API's base URL", "Value": {"Fn::Sub": url}}

    def authorizer_permissions(self) -> None:
        """The HTTP API's leave to invoke each Lambda authorizer: SAM writes it for a REST
        API's authorizers, not for an HTTP API's."""
        sub = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}"
        for auth, name in self.authorizers.items():
            if auth.kind == "function":
                self.add(
                    f"HttpApi{name}Permission",
                    {
                        "Type": "AWS::Lambda::Permission",
                        "Properties": {
                            "Action": "lambda:InvokeFunction",
                            "FunctionName": function_arn(auth.function),
                            "Principal": "apigateway.amazonaws.com",
                            "SourceArn": {"Fn::Sub": f"{sub}/authorizers/*"},
                        },
                    },
                )

    @property
    def timeout(self) -> int:
        from tight_tasks.functions import DEFAULT_TIMEOUT, function_setting

        return function_setting(self.settings, "timeout", DEFAULT_TIMEOUT)

    def timeout_of(self, name: str) -> int:
        """Function ``name``'s timeout: its own, else every function's."""
        from tight_tasks.functions import DEFAULT_TIMEOUT, own_setting

        return own_setting(self.settings, name, "timeout", DEFAULT_TIMEOUT)

    def document(self) -> dict[str, Any]:
        from tight_tasks.failures import check_queue_names
        from tight_tasks.functions import DEFAULT_MEMORY, app_functions, function_setting, read_code
        from tight_tasks.policies import is_secret
        from tight_tasks.routes import routes

        codes = {
            name: read_code(self.root, name) for name in app_functions(self.root, self.settings)
        }
        if any(code.idempotent for code in codes.values()):
            from tight.idempotency import IdempotencyRecord
            from tight_tasks.schema import document_name

            self.models.setdefault(document_name(IdempotencyRecord), [IdempotencyRecord])
        self.tables()
        table = routes(self.root, self.settings, codes)
        self.authorizers = {
            row.auth.authorizer: row.authorizer
            for row in table
            if row.auth is not None and row.authorizer and row.auth.kind != "iam"
        }
        self.iam = any(row.auth is not None and row.auth.kind == "iam" for row in table)
        for name, code in codes.items():
            self.function(name, code, [route for route in table if route.function == name])
        check_queue_names(self)
        env = env_parameters(self.root)
        check_parameter_ids(env)
        variables: dict[str, Any] = {"TIGHT_STAGE": {"Ref": "Stage"}, "TIGHT_APP": self.app}
        for key, default in env.items():
            logical = env_parameter_id(key)
            parameter: dict[str, Any] = {
                "Type": "String",
                "Default": default,
                "Description": f"{key} (from {ENV_FILE})",
            }
            if is_secret(key):
                parameter["NoEcho"] = True
            self.parameters[logical] = parameter
            variables[key] = {"Ref": logical}
        function_globals: dict[str, Any] = {
            "Runtime": f"python{self.target.python}",
            "Architectures": [self.target.architecture],
            "Timeout": self.timeout,
            "MemorySize": function_setting(self.settings, "memory_size", DEFAULT_MEMORY),
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
    return built_template(root, settings, stage)[0]


def built_template(
    root: Path, settings: dict[str, Any], stage: str
) -> tuple[dict[str, Any], Builder]:
    """The template, with the overlay merged, and the builder that made it."""
    from tight_tasks.config import parse_yaml

    builder = Builder(root, settings, stage)
    document = builder.document()
    overlay_path = root / OVERLAY_FILE
    if overlay_path.is_file():
        overlay = parse_yaml(overlay_path)[0] or {}
        if not isinstance(overlay, dict):
            raise TightTaskError(f"{OVERLAY_FILE} must be a mapping, merged onto the template")
        document = deep_merge(document, overlay)
    check_stage_clash(document, stage)
    return document, builder


def check_stage_clash(document: dict[str, Any], stage: str) -> None:
    """SAM deploys a REST API without an OpenApiVersion to an extra stage named "Stage"
    too: a stage of that name would be created twice. Tight sets the version; an overlay
    that removes it brings the clash back."""
    api = (document.get("Resources") or {}).get("Api") or {}
    versions = [
        (api.get("Properties") or {}).get("OpenApiVersion"),
        ((document.get("Globals") or {}).get("Api") or {}).get("OpenApiVersion"),
    ]
    if stage == "Stage" and api.get("Type") == "AWS::Serverless::Api" and not any(versions):
        raise TightTaskError(
            "stage Stage: without an OpenApiVersion on the REST API (removed by "
            f"{OVERLAY_FILE}), SAM also deploys a stage named Stage, and the two "
            "collide; choose another stage or keep Api's OpenApiVersion"
        )


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


@functools.cache
def tight_digest() -> str:
    """A digest of the Tight that writes the template: the runtime's version and the code
    of every module that shapes it (TEMPLATE_MODULES, RUNTIME_MODULES), read as files, so
    a no-op imports none of them."""
    import tight

    digest = hashlib.sha256(tight.__version__.encode())
    runtime = Path(tight.__file__).parent
    files = [Path(__file__).with_name(name) for name in TEMPLATE_MODULES]
    files += sorted(p for pattern in RUNTIME_MODULES for p in runtime.glob(pattern))
    for path in files:
        digest.update(f"\0{path.name}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _made_from(root: Path, settings: dict[str, Any], stage: str) -> str:
    """What decides the template beside its files' contents: which files there are, the
    stage, and Tight itself (another Tight may write another template)."""
    return repr((template_inputs(root), stage_of(stage, settings), tight_digest()))


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
        "params": [stage_param("the stage named in the template's resources")],
        "file_dep": template_inputs(root),
        "targets": [TEMPLATE_PATH],
        # A new input file, another stage or another Tight writes the template again.
        "uptodate": [_template_unchanged],
        "verbosity": 2,
    }
