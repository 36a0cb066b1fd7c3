"""doit template: a SAM template of a whole app, checked by cfn-lint and by AWS's translator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from scaffolds import scaffold

from tight import config
from tight_tasks.deploy import to_cloudformation

BIN = Path(sys.executable).parent

ORDER_MODEL = """
from tight.models import Model, Number, String


class Order(Model):
    hash_key = "id"
    id = String()
    total = Number()
"""

HTTP_WRITER = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from app.models.item import Item


@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200, "body": Item.get(kwargs["event"]["pathParameters"]["id"]).to_dict()}


@lambda_proxy.post
def post_handler(*args, **kwargs):
    Item(**kwargs["event"]["body"]).save()
    return {"statusCode": 201}
"""

HTTP_READER = """
from tight.providers.aws.controllers import lambda_proxy_event as api
from app.lib.lookup import find


@api.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200, "body": find("1")}
"""

LOOKUP = """
from app.models.order import Order


def find(key):
    return Order.get(key).to_dict()
"""


def record_handler(kind: str) -> str:
    return (
        f"import tight.providers.aws.controllers.{kind} as {kind}\n\n\n"
        f"@{kind}.record\ndef on_record(*args, **kwargs):\n    print(kwargs['record'])\n"
    )


TRIGGERS = {
    "orders": ("sqs", {"sqs": {"queue": "orders", "batch_size": 5}}),
    "alerts": ("sns", {"sns": {"topic": "alerts"}}),
    "uploads": ("s3", {"s3": {"bucket": "uploads", "prefix": "incoming/"}}),
    "clicks": ("kinesis", {"kinesis": {"stream": "clicks", "starting_position": "TRIM_HORIZON"}}),
    "changes": ("dynamodb_stream", {"dynamodb_stream": {"model": "item", "batch_size": 100}}),
    "nightly": ("eventbridge", {"schedule": "rate(1 day)"}),
    "audit": ("eventbridge", {"eventbridge": {"pattern": {"source": ["my.app"]}}}),
}


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True
    )


def set_settings(root: Path, **values: object) -> None:
    path = root / "tight.yml"
    settings = yaml.safe_load(path.read_text())
    settings.update(values)
    path.write_text(yaml.safe_dump(settings))


@pytest.fixture
def app(tmp_path, monkeypatch):
    """An app with two HTTP functions, a function per event source, two models, a layer."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = scaffold(tmp_path, "shop", ("generate_model", "name=item"))
    (root / "app/models/order.py").write_text(ORDER_MODEL)
    (root / "app/lib").mkdir(exist_ok=True)
    (root / "app/lib/__init__.py").write_text("")
    (root / "app/lib/lookup.py").write_text(LOOKUP)
    functions = {"items": HTTP_WRITER, "reports": HTTP_READER}
    functions.update({name: record_handler(kind) for name, (kind, _) in TRIGGERS.items()})
    for name, source in functions.items():
        folder = root / "app/functions" / name
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "handler.py").write_text(source)
    (root / "env.dist.yml").write_text(
        "LOG_LEVEL: INFO\nTIGHT_STAGE: dev\nAWS_DEFAULT_REGION: us-east-1\nSTRIPE_API_KEY: ''\n"
        "DB_PASS: ''\nDATABASE_URL: ''\n"
    )
    set_settings(
        root,
        runtime="python3.12",
        architecture="arm64",
        layer=True,
        function={"timeout": 20, "memory_size": 512},
        functions={
            "reports": {"routes": ["/reports/{year}"]},
            **{name: entry for name, (_, entry) in TRIGGERS.items()},
        },
    )
    return root


def template(root: Path, *args: str) -> dict:
    result = run("doit", "template", *args, cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return yaml.safe_load((root / "build/template.yml").read_text())


def lint(root: Path) -> None:
    linted = run("cfn-lint", "build/template.yml", cwd=root)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def translate(document: dict) -> dict:
    locations = {
        name: {"Bucket": "deploys", "Key": f"shop/{name}"}
        for name in ("shop.zip", "shop-layer.zip")
    }
    return to_cloudformation(document, locations, boto3.session.Session(region_name="us-east-1"))


def of_type(resources: dict, kind: str) -> dict:
    return {key: value for key, value in resources.items() if value["Type"] == kind}


def role_statements(resources: dict, function: str) -> list[dict]:
    role = resources[f"{function}Role"]["Properties"]["Policies"][0]["PolicyDocument"]
    return role["Statement"]


def test_rest_app_with_every_event_source_passes_cfn_lint_and_the_translator(app):
    (app / "template.overlay.yml").write_text(
        "Globals:\n  Function:\n    Tags:\n      team: payments\n"
        "Resources:\n  ItemTable:\n    Properties:\n      BillingMode: PROVISIONED\n"
        "      ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 2}\n"
    )
    document = template(app, "stage=prod")
    lint(app)
    assert document["Parameters"]["Stage"]["Default"] == "prod"
    assert document["Parameters"]["EnvStripeApiKey"]["NoEcho"] is True
    assert document["Parameters"]["EnvDbPass"]["NoEcho"] is True
    assert document["Parameters"]["EnvDatabaseUrl"]["NoEcho"] is True
    assert "NoEcho" not in document["Parameters"]["EnvLogLevel"]
    variables = document["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["TIGHT_STAGE"] == {"Ref": "Stage"}
    assert "AWS_DEFAULT_REGION" not in variables  # Lambda refuses its reserved names

    resources = translate(document)["Resources"]
    functions = of_type(resources, "AWS::Lambda::Function")
    assert len(functions) == 9
    items = functions["ItemsFunction"]["Properties"]
    assert items["Handler"] == "app_index.items"
    assert items["Runtime"] == "python3.12"
    assert items["Architectures"] == ["arm64"]
    assert items["Timeout"] == 20 and items["MemorySize"] == 512
    assert items["LoggingConfig"] == {"LogFormat": "JSON"}
    assert items["Code"] == {"S3Bucket": "deploys", "S3Key": "shop/shop.zip"}
    assert items["Tags"][-1] == {"Key": "team", "Value": "payments"}  # from the overlay
    (layer,) = of_type(resources, "AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["Content"] == {"S3Bucket": "deploys", "S3Key": "shop/shop-layer.zip"}
    assert len(items["Layers"]) == 1

    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    paths = api["Properties"]["Body"]["paths"]
    assert set(paths["/items"]) >= {"get", "post"} and set(paths["/items/{id}"]) >= {"get", "post"}
    assert set(paths["/reports/{year}"]) >= {"get"} and "/reports" not in paths
    assert "post" not in paths["/reports/{year}"]
    # the binary media types doit serve uses, as the deployed API gets them
    binary = api["Properties"]["Body"]["x-amazon-apigateway-binary-media-types"]
    assert "image/*" in binary and "application/octet-stream" in binary

    mappings = of_type(resources, "AWS::Lambda::EventSourceMapping")
    assert {m["Properties"]["FunctionName"]["Ref"] for m in mappings.values()} == {
        "OrdersFunction",
        "ClicksFunction",
        "ChangesFunction",
    }
    for mapping in mappings.values():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert of_type(resources, "AWS::SQS::Queue")["OrdersQueue"]["Properties"]["QueueName"] == {
        "Fn::Sub": "shop-${Stage}-orders"
    }
    assert of_type(resources, "AWS::SNS::Topic") and of_type(resources, "AWS::Kinesis::Stream")
    assert len(of_type(resources, "AWS::Events::Rule")) == 2  # the schedule and the pattern
    (bucket,) = of_type(resources, "AWS::S3::Bucket").values()
    assert "incoming/" in json.dumps(bucket["Properties"]["NotificationConfiguration"])

    tables = of_type(resources, "AWS::DynamoDB::Table")
    assert set(tables) == {"ItemTable", "OrderTable"}
    for name, table in tables.items():
        assert (
            table["DeletionPolicy"] == "RetainExceptOnCreate"
            and table["UpdateReplacePolicy"] == "Retain"
        )
        model = name.removesuffix("Table").lower()
        assert table["Properties"]["TableName"] == {"Fn::Sub": f"shop-${{Stage}}-{model}"}
    assert tables["ItemTable"]["Properties"]["StreamSpecification"]  # the stream's function
    assert tables["ItemTable"]["Properties"]["BillingMode"] == "PROVISIONED"  # the overlay

    # Policies name the tables each function's code imports; a reader cannot write.
    writer = role_statements(resources, "ItemsFunction")[1]
    assert writer["Resource"][0] == {"Fn::GetAtt": ["ItemTable", "Arn"]}
    assert "dynamodb:PutItem" in writer["Action"]
    reader = role_statements(resources, "ReportsFunction")[1]  # through app/lib/lookup.py
    assert reader["Resource"][0] == {"Fn::GetAtt": ["OrderTable", "Arn"]}
    assert "dynamodb:GetItem" in reader["Action"] and "dynamodb:PutItem" not in reader["Action"]
    queue = role_statements(resources, "OrdersFunction")
    assert [s["Resource"] for s in queue[1:]] == [{"Fn::GetAtt": ["OrdersQueue", "Arn"]}]
    # Logs and its failure queue: SNS pushes, so nothing to read.
    assert len(role_statements(resources, "AlertsFunction")) == 2
    for statement in (s for f in functions for s in role_statements(resources, f)):
        assert statement["Resource"] != "*"
    # Each function's role is its own; SAM adds no account-wide managed policies.
    for role in of_type(resources, "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]

    outputs = document["Outputs"]
    assert {"ApiUrl", "ItemsFunctionName", "ItemsFunctionArn", "ItemTableName"} <= set(outputs)


def send_resources(statements: list[dict]) -> list:
    """What a role's statements let it send SQS messages to."""
    found = []
    for statement in statements:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        if any(a in ("sqs:SendMessage", "sqs:*", "*") for a in actions):
            found.append(statement["Resource"])
    return found


def test_failed_messages_land_in_failure_queues_each_function_sending_only_to_its_own(app):
    document = template(app, "stage=prod")
    lint(app)
    translated = translate(document)
    resources = translated["Resources"]
    queues = of_type(resources, "AWS::SQS::Queue")

    # The queue the stack creates gets a dead-letter queue and a redrive policy.
    dlq = queues["OrdersDeadLetterQueue"]["Properties"]
    assert dlq["QueueName"] == {"Fn::Sub": "shop-${Stage}-orders-dlq"}
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600  # longer than the source keeps them
    assert queues["OrdersQueue"]["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["OrdersDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }

    # Streams: bounded retries, bisection, and the function's own failure queue.
    mappings = {
        m["Properties"]["FunctionName"]["Ref"]: m["Properties"]
        for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    }
    for function in ("ClicksFunction", "ChangesFunction"):
        mapping = mappings[function]
        assert mapping["MaximumRetryAttempts"] == 3
        assert mapping["BisectBatchOnFunctionError"] is True
        assert mapping["DestinationConfig"] == {
            "OnFailure": {"Destination": {"Fn::GetAtt": [f"{function}Failures", "Arn"]}}
        }
    assert "DestinationConfig" not in mappings["OrdersFunction"]  # SQS has its DLQ

    # Asynchronous invocations: Lambda's two retries, then the function's failure queue.
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
    }
    asynchronous = {"AlertsFunction", "UploadsFunction", "NightlyFunction", "AuditFunction"}
    assert set(configs) == asynchronous
    for function, invoke in configs.items():
        assert invoke["MaximumRetryAttempts"] == 2
        assert invoke["DestinationConfig"] == {
            "OnFailure": {"Destination": {"Fn::GetAtt": [f"{function}Failures", "Arn"]}}
        }
        assert queues[f"{function}Failures"]["Properties"]["QueueName"] == {
            "Fn::Sub": f"shop-${{Stage}}-{function.removesuffix('Function').lower()}-failures"
        }

    # Each role sends to its own failure queue and to nothing else; SAM adds no policy.
    failing = asynchronous | {"ClicksFunction", "ChangesFunction"}
    for function in of_type(resources, "AWS::Lambda::Function"):
        role = resources[f"{function}Role"]["Properties"]
        sends = send_resources(role["Policies"][0]["PolicyDocument"]["Statement"])
        expected = [{"Fn::GetAtt": [f"{function}Failures", "Arn"]}] if function in failing else []
        assert sends == expected, function
        assert len(role["Policies"]) == 1 and "ManagedPolicyArns" not in role
    assert not of_type(resources, "AWS::IAM::Policy")

    # Every failure queue is an output, so `doit deploy` prints it.
    outputs = document["Outputs"]
    failure_queues = {"OrdersDeadLetterQueue"} | {f"{f}Failures" for f in failing}
    assert failure_queues == {q for q in queues if q != "OrdersQueue"}
    for queue in failure_queues:
        assert outputs[f"{queue}Url"]["Value"] == {"Ref": queue}
    assert "dead-letter queue of orders" in outputs["OrdersDeadLetterQueueUrl"]["Description"]


def test_http_api_with_cors_passes_cfn_lint_and_the_translator(app):
    set_settings(app, api="http", cors={"allow_origin": ["https://a.example", "https://b.example"]})
    document = template(app)
    lint(app)
    resources = translate(document)["Resources"]
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    body = api["Properties"]["Body"]
    assert set(body["paths"]["/items/{id}"]) >= {"get", "post"}
    integration = body["paths"]["/items"]["get"]["x-amazon-apigateway-integration"]
    assert integration["payloadFormatVersion"] == "2.0"
    assert body["x-amazon-apigateway-cors"]["allowOrigins"] == [
        "https://a.example",
        "https://b.example",
    ]
    assert not of_type(resources, "AWS::ApiGateway::RestApi")


def test_template_is_incremental(app):
    template(app)
    path = app / "build/template.yml"
    before = path.stat().st_mtime_ns
    again = run("doit", "template", cwd=app)
    assert "-- template" in again.stdout and path.stat().st_mtime_ns == before
    handler = app / "app/functions/reports/handler.py"
    handler.write_text(handler.read_text().replace("@api.get", "@api.delete"))
    document = template(app)
    events = document["Resources"]["ReportsFunction"]["Properties"]["Events"]
    assert [e["Properties"]["Method"] for e in events.values()] == ["DELETE"]
    (app / "template.overlay.yml").write_text("Description: mine\n")  # a new input file
    assert template(app)["Description"] == "mine"
    assert template(app, "stage=prod")["Parameters"]["Stage"]["Default"] == "prod"
    assert template(app, "--stage", "qa")["Parameters"]["Stage"]["Default"] == "qa"
    assert "-- template" in run("doit", "template", "--stage", "qa", cwd=app).stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"functions": {"items": {"sqs": {"queue": "x"}}}}, "registers http handlers"),
        ({"functions": {"orders": {"sqs": {"queue": "o"}, "routes": ["/o"]}}}, "routes and"),
        ({"functions": {"orders": {"queue": "o"}}}, "unknown key functions.orders.queue"),
        ({"functions": {"orders": {"sqs": {"queue": "a/b"}}}}, "may hold only"),
        ({"function": {"timeout": 901}}, "function.timeout"),
        ({"api": "graphql"}, "api graphql is unknown; use one of rest, http"),
        ({"functions": {"changes": {"dynamodb_stream": {"model": "nope"}}}}, "model 'nope'"),
        ({"functions": {"nightly": {"schedule": "every day"}}}, "rate(...) or cron(...)"),
        ({"functions": {"orders": {"sqs": {"queue": "o", "batch_size": 0}}}}, "batch_size must"),
        ({"functions": {"ordres": {"sqs": {"queue": "o"}}}}, "functions.ordres in tight.yml"),
        (
            {"functions": {"orders": {"sqs": {"queue": "o", "max_receive_count": 0}}}},
            "max_receive_count must be a whole number of receives from 1 to 1000",
        ),
        (
            {"functions": {"alerts": {"sns": {"topic": "alerts", "retries": 3}}}},
            "retries must be 0, 1 or 2",
        ),
        (
            {"functions": {"nightly": {"schedule": {"expression": "rate(1 day)", "retry": 1}}}},
            "unknown key(s) retry; it takes expression, retries",
        ),
        ({"failures": {"stream_retries": -1}}, "failures.stream_retries must be"),
        ({"failures": {"max_recieve_count": 3}}, "did you mean failures.max_receive_count?"),
        (
            {
                "functions": {
                    "orders": {
                        "sqs": {
                            "queue": "arn:aws:sqs:us-east-1:123456789012:orders",
                            "max_receive_count": 3,
                        }
                    }
                }
            },
            "the queue is given by ARN, so the template creates no dead-letter queue",
        ),
        (
            {"functions": {"orders": {"sqs": {"queue": "alerts-failures"}}}},
            "two queues would be named shop-dev-alerts-failures",
        ),
    ],
)
def test_bad_settings_are_one_line_errors_and_keep_the_last_template(app, change, message):
    template(app)
    before = (app / "build/template.yml").read_bytes()
    settings = yaml.safe_load((app / "tight.yml").read_text())
    for key, value in change.items():
        if key == "functions":
            settings["functions"].update(value)
        else:
            settings[key] = value
    (app / "tight.yml").write_text(yaml.safe_dump(settings))
    result = run("doit", "template", cwd=app)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert (app / "build/template.yml").read_bytes() == before


def test_an_event_handler_without_a_trigger_is_named(app):
    (app / "app/functions/stray").mkdir()
    (app / "app/functions/stray/handler.py").write_text(record_handler("sqs"))
    result = run("doit", "template", cwd=app)
    assert "app/functions/stray handles sqs events but tight.yml has no trigger" in result.stderr


def test_the_stage_in_the_environment_wins_over_tight_json(tmp_path, monkeypatch):
    """One zip serves every stage: the template sets TIGHT_STAGE, tight.json says dev."""
    vendored = tmp_path / "app" / "vendored"
    vendored.mkdir(parents=True)
    (vendored / "tight.json").write_text(json.dumps({"app_name": "shop", "stage": "dev"}))
    config.reset()
    config.set_app_root(str(tmp_path))
    monkeypatch.setenv("TIGHT_STAGE", "prod")
    assert config.reload().stage == "prod"
    monkeypatch.delenv("TIGHT_STAGE")
    assert config.reload().stage == "dev"
    config.configure(stage="test")  # Python, as tests do, still wins
    monkeypatch.setenv("TIGHT_STAGE", "prod")
    assert config.reload().stage == "test"
    config.reset()


def test_no_functions_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    run("tight", "generate_app", "name=empty", cwd=tmp_path)
    result = run("doit", "template", cwd=tmp_path / "empty")
    assert "no functions in app/functions" in result.stderr
    assert not os.path.exists(tmp_path / "empty/build/template.yml")


@pytest.mark.parametrize("stage", ["a b", "prod;rm", "-x", "x" * 33])
def test_a_bad_stage_is_refused(app, stage):
    result = run("doit", "template", f"stage={stage}", cwd=app)
    assert result.returncode != 0 and "stage" in result.stderr
    assert not (app / "build/template.yml").exists()


def test_a_function_name_past_lambdas_limit_is_named(app):
    name = "f" * 60
    (app / "app/functions" / name).mkdir()
    (app / "app/functions" / name / "handler.py").write_text(HTTP_READER)
    result = run("doit", "template", cwd=app)
    assert f"shop-dev-{name} is longer than Lambda's 64 characters" in result.stderr


def test_env_dist_and_overlay_are_read_by_the_one_yaml_reader(app):
    """A repeated key in env.dist.yml and broken YAML in the overlay: one error line each,
    worded as every other task words them, and no template written."""
    dist = app / "env.dist.yml"
    dist.write_text("LOG_LEVEL: INFO\nAPI_KEY:\nLOG_LEVEL: DEBUG\n")
    repeated = run("doit", "template", cwd=app)
    assert repeated.returncode != 0 and "Traceback" not in repeated.stderr
    assert "env.dist.yml:3: duplicate key 'LOG_LEVEL' (first at line 1)" in repeated.stderr
    assert not (app / "build/template.yml").exists()
    dist.write_text("LOG_LEVEL: LOUD\n")
    loud = run("doit", "template", cwd=app)
    assert "env.dist.yml:1: LOG_LEVEL LOUD is not a log level" in loud.stderr
    dist.write_text("LOG_LEVEL: INFO\n")
    (app / "template.overlay.yml").write_text("Description: [unclosed\n")
    broken = run("doit", "template", cwd=app)
    assert broken.returncode != 0 and "Traceback" not in broken.stderr
    assert "template.overlay.yml:2: not valid YAML: " in broken.stderr
    assert not (app / "build/template.yml").exists()


def test_the_rest_api_has_one_stage_a_name_and_answers_head(app):
    """SAM without an OpenApiVersion also deploys a stage named "Stage"; an API Gateway REST
    API answers HEAD only where the resource has a HEAD method; moto needs the API's Name."""
    document = template(app, "stage=qa")
    lint(app)
    resources = translate(document)["Resources"]
    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["Name"] == {"Fn::Sub": "shop-${Stage}"}
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["StageName"] == {"Ref": "Stage"}
    (deployment,) = of_type(resources, "AWS::ApiGateway::Deployment").values()
    assert "StageName" not in deployment["Properties"]  # no stage "Stage" beside qa
    paths = api["Properties"]["Body"]["paths"]
    assert set(paths["/items/{id}"]) >= {"get", "head", "post"}
    assert set(paths["/reports/{year}"]) - {"options"} == {"get", "head"}
    integration = paths["/items/{id}"]["head"]["x-amazon-apigateway-integration"]
    assert integration == paths["/items/{id}"]["get"]["x-amazon-apigateway-integration"]
    # API Gateway may invoke the function for HEAD as it may for GET
    permissions = of_type(resources, "AWS::Lambda::Permission")
    assert any(
        "/HEAD/items" in json.dumps(p["Properties"]["SourceArn"]) for p in permissions.values()
    )


@pytest.mark.parametrize("stage", ["Stage", "Prod"])
def test_a_stage_named_like_sams_own_deploys_one_stage(app, stage):
    """With an OpenApiVersion SAM adds no stage of its own, so "Stage" and "Prod" (the
    implicit API's stage, which Tight does not use) collide with nothing."""
    (app / "app/functions/uploads").rename(app / "uploads")  # a bucket name is lowercase
    settings = yaml.safe_load((app / "tight.yml").read_text())
    del settings["functions"]["uploads"]
    (app / "tight.yml").write_text(yaml.safe_dump(settings))
    resources = translate(template(app, f"stage={stage}"))["Resources"]
    assert len(of_type(resources, "AWS::ApiGateway::Stage")) == 1
    (deployment,) = of_type(resources, "AWS::ApiGateway::Deployment").values()
    assert "StageName" not in deployment["Properties"]


def test_an_overlay_that_brings_back_sams_stage_named_stage_is_refused(app):
    (app / "app/functions/uploads").rename(app / "uploads")
    settings = yaml.safe_load((app / "tight.yml").read_text())
    del settings["functions"]["uploads"]
    (app / "tight.yml").write_text(yaml.safe_dump(settings))
    (app / "template.overlay.yml").write_text(
        "Resources:\n  Api:\n    Properties:\n      OpenApiVersion: null\n"
    )
    assert run("doit", "template", "stage=qa", cwd=app).returncode == 0  # no clash
    refused = run("doit", "template", "stage=Stage", cwd=app)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "SAM also deploys a stage named Stage" in refused.stderr


@pytest.mark.parametrize(("first", "second"), [("API_KEY", "api_key"), ("A_B", "A__B")])
def test_env_keys_that_would_be_one_parameter_are_an_error_naming_both(app, first, second):
    (app / "env.dist.yml").write_text(f"{first}: one\n{second}: two\n")
    result = run("doit", "template", cwd=app)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error: env.dist.yml: {first} and {second} would both be")
    assert not (app / "build/template.yml").exists()
