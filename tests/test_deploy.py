"""doit deploy and doit undeploy against a moto server on 127.0.0.1 (AWS_ENDPOINT_URL).

moto's CloudFormation builds Lambda functions, event source mappings, tables, queues,
topics, rules and roles from the transformed template, so the app here has event-source
functions and a model, and an HTTP function on an HTTP API (``api: http``), whose API moto
skips. moto builds a REST API but no methods from its OpenAPI body, and then refuses its
deployment: the REST app's deploy here fails in one line and leaves no stack; REST APIs are
checked on the transformed template instead (tests/test_template.py).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from scaffolds import scaffold
from servers import moto_server

from tight_tasks.deploy import default_bucket

BIN = Path(sys.executable).parent

ORDERS = """
import tight.providers.aws.controllers.sqs as sqs
from app.models.item import Item


@sqs.record
def on_message(*args, **kwargs):
    order = kwargs["record"].json()
    Item(id=order["id"], name=order["name"]).save()
"""

ALERTS = """
import tight.providers.aws.controllers.sns as sns


@sns.record
def on_alert(*args, **kwargs):
    print(kwargs["record"].message)
"""

ITEMS = """
import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy
from app.models.item import Item


@lambda_proxy.get
def get_handler(*args, **kwargs):
    return {"statusCode": 200, "body": Item.get(kwargs["request"].path_params["id"]).to_dict()}
"""

NIGHTLY = """
import tight.providers.aws.controllers.eventbridge as eventbridge


@eventbridge.record
def every_night(*args, **kwargs):
    print(kwargs["record"].time)
"""


@pytest.fixture(scope="module")
def endpoint():
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(endpoint, monkeypatch, tmp_path):
    """The environment of a user whose AWS is the moto server."""
    for key, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    requests = __import__("urllib.request").request
    requests.urlopen(requests.Request(f"{endpoint}/moto-api/reset", method="POST"))
    return boto3.session.Session(region_name="eu-west-1")


def run(*command: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
    )


def make_app(folder: Path) -> Path:
    root = scaffold(folder, "shop", ("generate_model", "name=item"))
    for name, source in {
        "orders": ORDERS,
        "alerts": ALERTS,
        "nightly": NIGHTLY,
        "items": ITEMS,
    }.items():
        (root / "app/functions" / name).mkdir(parents=True)
        (root / "app/functions" / name / "__init__.py").write_text("")
        (root / "app/functions" / name / "handler.py").write_text(source)
    settings = yaml.safe_load((root / "tight.yml").read_text())
    settings["no_index"] = True  # the app has no dependencies: no network for the lock
    settings["api"] = "http"
    settings["functions"] = {
        "orders": {"sqs": {"queue": "orders", "batch_size": 10}},
        "alerts": {"sns": {"topic": "alerts"}},
        "nightly": {"schedule": "rate(1 day)"},
    }
    (root / "tight.yml").write_text(yaml.safe_dump(settings))
    return root


def code_sha(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def test_deploy_no_op_update_and_undeploy(aws, tmp_path):
    root = make_app(tmp_path)
    cloudformation = aws.client("cloudformation")
    lambda_ = aws.client("lambda")

    first = run("doit", "deploy", "stage=qa", cwd=root)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Add     OrdersFunctionQueue  AWS::Lambda::EventSourceMapping" in first.stdout
    stack = cloudformation.describe_stacks(StackName="shop-qa")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert (root / "build/template.cfn.json").is_file()

    zip_path = root / "build/shop.zip"
    function = lambda_.get_function(FunctionName="shop-qa-orders")
    assert function["Configuration"]["CodeSha256"] == code_sha(zip_path)
    assert function["Configuration"]["Handler"] == "app_index.orders"
    assert function["Configuration"]["Environment"]["Variables"]["TIGHT_STAGE"] == "qa"
    uploaded = aws.client("s3").get_object(
        Bucket="shop-123456789012-eu-west-1-tight",
        Key=f"shop/{hashlib.sha256(zip_path.read_bytes()).hexdigest()}.zip",
    )
    assert uploaded["Body"].read() == zip_path.read_bytes()  # byte-identical, content-addressed
    (mapping,) = lambda_.list_event_source_mappings(FunctionName="shop-qa-orders")[
        "EventSourceMappings"
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["EventSourceArn"].endswith(":shop-qa-orders")
    assert "shop-qa-item" in aws.client("dynamodb").list_tables()["TableNames"]
    items = lambda_.get_function(FunctionName="shop-qa-items")["Configuration"]
    assert items["Handler"] == "app_index.items" and items["CodeSha256"] == code_sha(zip_path)
    assert aws.client("sns").list_topics()["Topics"][0]["TopicArn"].endswith(":shop-qa-alerts")
    assert aws.client("events").list_rules()["Rules"]
    events_before = cloudformation.describe_stack_events(StackName="shop-qa")["StackEvents"]

    again = run("doit", "deploy", "stage=qa", cwd=root)
    assert again.returncode == 0, again.stderr
    assert "stack shop-qa is up to date: nothing to deploy" in again.stdout
    assert "uploaded" not in again.stdout
    assert cloudformation.describe_stack_events(StackName="shop-qa")["StackEvents"] == events_before

    handler = root / "app/functions/orders/handler.py"
    handler.write_text(handler.read_text().replace('order["name"]', 'order.get("name", "?")'))
    edited = run("doit", "deploy", "stage=qa", cwd=root)
    assert edited.returncode == 0, edited.stdout + edited.stderr
    assert "updating stack shop-qa" in edited.stdout and "Modify  OrdersFunction" in edited.stdout
    stack = cloudformation.describe_stacks(StackName="shop-qa")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    configuration = lambda_.get_function(FunctionName="shop-qa-orders")["Configuration"]
    assert configuration["CodeSha256"] == code_sha(zip_path)

    refused = run("doit", "undeploy", "stage=qa", cwd=root, stdin="")
    assert refused.returncode != 0 and "yes=true" in refused.stderr
    assert cloudformation.describe_stacks(StackName="shop-qa")["Stacks"]

    removed = run("doit", "undeploy", "stage=qa", "yes=true", cwd=root)
    assert removed.returncode == 0, removed.stderr
    stacks = cloudformation.list_stacks()["StackSummaries"]
    assert [s["StackStatus"] for s in stacks if s["StackName"] == "shop-qa"] == ["DELETE_COMPLETE"]
    # The table's DeletionPolicy keeps it on AWS; moto honours only "Retain" and deletes it,
    # and undeploy checks and says so instead of claiming the data was kept.
    assert "and keeps 1 (their deletion policy retains them" in removed.stdout
    assert "warning: table(s) shop-qa-item are gone although their DeletionPolicy" in removed.stdout
    assert "retained (with their data)" not in removed.stdout
    functions = lambda_.list_functions()["Functions"]
    assert not [f for f in functions if f["FunctionName"].startswith("shop-qa-")]


def test_a_redeploy_from_another_shell_keeps_the_deployed_secrets(aws, tmp_path, monkeypatch):
    """Deploy with API_PASSWORD set, edit, redeploy from a shell without it: the deployed
    value stays (UsePreviousValue), on the function and in the no-op check alike."""
    root = make_app(tmp_path)
    with (root / "env.dist.yml").open("a") as dist:
        dist.write("API_PASSWORD:\nGREETING: hello\n")
    refused = run("doit", "deploy", "stage=qa", cwd=root)
    assert refused.returncode != 0
    assert "error: API_PASSWORD has no value: env.dist.yml leaves it empty" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not aws.client("s3").list_buckets()["Buckets"], "nothing is uploaded before the check"
    assert not aws.client("cloudformation").describe_stacks()["Stacks"]

    monkeypatch.setenv("API_PASSWORD", "s3cret-first")
    monkeypatch.setenv("GREETING", "bonjour")
    first = run("doit", "deploy", "stage=qa", cwd=root)
    assert first.returncode == 0, first.stdout + first.stderr
    monkeypatch.delenv("API_PASSWORD")
    monkeypatch.delenv("GREETING")

    unchanged = run("doit", "deploy", "stage=qa", cwd=root)
    assert "stack shop-qa is up to date: nothing to deploy" in unchanged.stdout, unchanged.stderr

    handler = root / "app/functions/alerts/handler.py"
    handler.write_text(handler.read_text().replace("print(", "print('alert:', "))
    hotfix = run("doit", "deploy", "stage=qa", cwd=root)
    assert hotfix.returncode == 0, hotfix.stdout + hotfix.stderr
    assert "updating stack shop-qa" in hotfix.stdout
    variables = aws.client("lambda").get_function(FunctionName="shop-qa-alerts")["Configuration"][
        "Environment"
    ]["Variables"]
    assert variables["API_PASSWORD"] == "s3cret-first"
    assert variables["GREETING"] == "bonjour"
    assert variables["TIGHT_STAGE"] == "qa"


def test_undeploy_lists_what_goes_and_keeps_a_queue_holding_messages(aws, tmp_path):
    root = make_app(tmp_path)
    first = run("doit", "deploy", "stage=qa", cwd=root)
    assert first.returncode == 0, first.stdout + first.stderr
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName="shop-qa-orders")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"id": "1", "name": "unprocessed"}')

    refused = run("doit", "undeploy", "stage=qa", "yes=true", cwd=root)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    assert "queue(s) still holding messages: shop-qa-orders (1)" in refused.stderr
    assert "drop_messages=true" in refused.stderr
    listed = refused.stdout
    queues = [line for line in listed.splitlines() if line.startswith("  AWS::SQS::Queue")]
    (queue,) = [line for line in queues if line.split()[1] == "OrdersQueue"]
    kind, logical, physical, *count = queue.split()
    assert (kind, logical, " ".join(count)) == ("AWS::SQS::Queue", "OrdersQueue", "(1 message(s))")
    assert physical.endswith("/123456789012/shop-qa-orders")
    for kind in ("AWS::Lambda::Function", "AWS::IAM::Role", "AWS::SNS::Topic"):
        assert kind in listed.split("and keeps")[0], kind
    assert "shop-qa-orders" in listed and "shop-qa-alerts" in listed
    kept = listed.split("and keeps 1 (their deletion policy retains them, data included):")[1]
    assert "AWS::DynamoDB::Table" in kept and "shop-qa-item" in kept
    stack = aws.client("cloudformation").describe_stacks(StackName="shop-qa")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", "nothing was deleted"
    assert sqs.get_queue_url(QueueName="shop-qa-orders")["QueueUrl"] == url

    dropped = run("doit", "undeploy", "stage=qa", "yes=true", "drop_messages=true", cwd=root)
    assert dropped.returncode == 0, dropped.stdout + dropped.stderr
    assert "deleted stack shop-qa" in dropped.stdout


def test_undeploy_then_deploy_again_works(aws, tmp_path):
    root = make_app(tmp_path)
    for step in ("deploy", "undeploy", "deploy"):
        done = run(
            "doit", step, "stage=qa", *(["yes=true"] if step == "undeploy" else []), cwd=root
        )
        assert done.returncode == 0, f"{step}: {done.stdout}{done.stderr}"
    stack = aws.client("cloudformation").describe_stacks(StackName="shop-qa")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert "shop-qa-item" in aws.client("dynamodb").list_tables()["TableNames"]


def test_a_table_left_outside_the_stack_is_never_touched_when_it_cannot_be_adopted(aws, tmp_path):
    """A table kept by an earlier undeploy, with data, before the first deploy. moto cannot
    run an IMPORT change set (the adoption itself is tested with Stubber in
    test_deploy_failures.py), so the deploy refuses in one line, leaves no stack, and the
    table and its item are as they were."""
    root = make_app(tmp_path)
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName="shop-qa-item",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="shop-qa-item", Item={"id": {"S": "kept"}})
    refused = run("doit", "deploy", "stage=qa", cwd=root)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    error = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1
    assert "table(s) shop-qa-item exist outside stack shop-qa" in error[0]
    assert "cannot be adopted into it" in error[0] and "nothing was created" in error[0]
    assert "adopting table(s) shop-qa-item into stack shop-qa" in refused.stdout
    cloudformation = aws.client("cloudformation")
    live = [
        s for s in cloudformation.list_stacks()["StackSummaries"]
        if s["StackName"] == "shop-qa" and s["StackStatus"] != "DELETE_COMPLETE"
    ]  # fmt: skip
    assert live == []
    assert not aws.client("lambda").list_functions()["Functions"]
    item = dynamodb.get_item(TableName="shop-qa-item", Key={"id": {"S": "kept"}})
    assert item["Item"] == {"id": {"S": "kept"}}


def test_a_table_with_other_keys_is_refused_before_anything_is_created(aws, tmp_path):
    root = make_app(tmp_path)
    aws.client("dynamodb").create_table(
        TableName="shop-qa-item",
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    refused = run("doit", "deploy", "stage=qa", cwd=root)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "their keys differ: shop-qa-item (keys [('sku', 'HASH')]" in refused.stderr
    assert "adopting" not in refused.stdout
    assert not aws.client("cloudformation").describe_stacks()["Stacks"]


def queue_attribute(sqs, url: str, name: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"][name]


def test_a_poisoned_message_lands_in_the_dead_letter_queue_and_undeploy_keeps_it(aws, tmp_path):
    """moto runs no Lambda here (it needs Docker), so the poller's failed receives are made
    by hand: five receives without a delete, and SQS moves the message to the DLQ the
    stack created. The failure queues are outputs, and each role may send to its own.
    moto's IAM stores the role's policy; whether AWS would allow the send is not tested."""
    root = make_app(tmp_path)
    first = run("doit", "deploy", "stage=qa", cwd=root)
    assert first.returncode == 0, first.stdout + first.stderr
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName="shop-qa-orders")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName="shop-qa-orders-dlq")["QueueUrl"]
    redrive = queue_attribute(sqs, url, "RedrivePolicy")
    assert json.loads(redrive) == {
        "deadLetterTargetArn": queue_attribute(sqs, dlq_url, "QueueArn"),
        "maxReceiveCount": 5,
    }

    # moto leaves a stack made by a change set without outputs, so the deployed template's
    # Outputs are read, and each is checked to be the queue the stack created.
    cloudformation = aws.client("cloudformation")
    deployed = cloudformation.get_template(StackName="shop-qa", TemplateStage="Processed")
    body = deployed["TemplateBody"]
    outputs = (json.loads(body) if isinstance(body, str) else body)["Outputs"]
    resources = cloudformation.list_stack_resources(StackName="shop-qa")["StackResourceSummaries"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    for queue, name in {
        "OrdersDeadLetterQueue": "shop-qa-orders-dlq",
        "AlertsFunctionFailures": "shop-qa-alerts-failures",
        "NightlyFunctionFailures": "shop-qa-nightly-failures",
    }.items():
        assert outputs[f"{queue}Url"]["Value"] == {"Ref": queue}
        assert physical[queue].endswith(f"/123456789012/{name}")  # the queue's URL
    alerts_url = sqs.get_queue_url(QueueName="shop-qa-alerts-failures")["QueueUrl"]
    alerts_failures = queue_attribute(sqs, alerts_url, "QueueArn")
    iam = aws.client("iam")
    roles = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::IAM::Role"
    }
    sends = {}
    for logical, role in roles.items():
        document = iam.get_role_policy(RoleName=role, PolicyName="function")["PolicyDocument"]
        if isinstance(document, str):  # moto's CloudFormation stores the Python repr
            document = ast.literal_eval(document)
        sends[logical] = [
            s["Resource"] for s in document["Statement"] if "sqs:SendMessage" in s["Action"]
        ]
    assert sends["AlertsFunctionRole"] == [alerts_failures]
    assert sends["OrdersFunctionRole"] == [] and sends["ItemsFunctionRole"] == []

    # moto's poller receives the message once as it is sent (and fails: no Docker); the
    # receives after it are the retries, as Lambda's poller would make them.
    sqs.send_message(QueueUrl=url, MessageBody="not an order")
    counts = []
    while True:
        received = sqs.receive_message(
            QueueUrl=url, VisibilityTimeout=0, MessageSystemAttributeNames=["All"]
        ).get("Messages")
        if not received:
            break
        counts.append(int(received[0]["Attributes"]["ApproximateReceiveCount"]))
        assert len(counts) <= 5, "the message should have moved to the dead-letter queue"
    assert counts[-1] == 5  # received five times, then moved by SQS, not received again
    (poisoned,) = sqs.receive_message(QueueUrl=dlq_url, VisibilityTimeout=0)["Messages"]
    assert poisoned["Body"] == "not an order"

    kept = run("doit", "undeploy", "stage=qa", "yes=true", cwd=root)
    assert kept.returncode != 0 and "Traceback" not in kept.stderr
    assert "queue(s) still holding messages: shop-qa-orders-dlq (1)" in kept.stderr
    removed = run("doit", "undeploy", "stage=qa", "yes=true", "drop_messages=true", cwd=root)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "deleted stack shop-qa" in removed.stdout
    assert not [q for q in sqs.list_queues().get("QueueUrls", []) if "shop-qa-" in q]


def test_an_object_already_under_the_zips_key_is_trusted_only_by_its_checksum(aws, tmp_path):
    """Someone put other bytes under the zip's key: they are replaced, not deployed."""
    root = make_app(tmp_path)
    assert run("doit", "artifact", cwd=root).returncode == 0
    zip_path = root / "build/shop.zip"
    bucket = "shop-123456789012-eu-west-1-tight"
    key = f"shop/{hashlib.sha256(zip_path.read_bytes()).hexdigest()}.zip"
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=bucket, Key=key, Body=b"PK tampered")
    first = run("doit", "deploy", cwd=root)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"s3://{bucket}/{key} is there but has no SHA-256 checksum: uploading" in first.stdout
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == zip_path.read_bytes()
    lambda_ = aws.client("lambda")
    for function in ("shop-dev-orders", "shop-dev-items"):
        configuration = lambda_.get_function(FunctionName=function)["Configuration"]
        assert configuration["CodeSha256"] == code_sha(zip_path)
    assert "4 function(s) run build/shop.zip (CodeSha256 checked)" in first.stdout
    again = run("doit", "deploy", cwd=root)
    assert again.returncode == 0, again.stderr
    assert "is there already, checksum verified" in again.stdout


def run_on_a_terminal(*command: str, cwd: Path, answer: str) -> subprocess.CompletedProcess[str]:
    """``command`` with a terminal as its standard input, answering ``answer`` to its question."""
    main, terminal = os.openpty()
    try:
        os.write(main, answer.encode() + b"\n")
        return subprocess.run(
            [str(BIN / command[0]), *command[1:]],
            cwd=cwd,
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        os.close(main)
        os.close(terminal)


def test_confirm_shows_the_change_set_and_asks_and_outputs_tells_after(aws, tmp_path):
    root = make_app(tmp_path)
    piped = run("doit", "deploy", "stage=qa", "confirm=true", cwd=root, stdin="")
    assert piped.returncode != 0 and "confirm=true asks on a terminal" in piped.stderr
    declined = run_on_a_terminal("doit", "deploy", "stage=qa", "confirm=true", cwd=root, answer="n")
    assert declined.returncode == 0, declined.stdout + declined.stderr
    assert "changes to stack shop-qa:" in declined.stdout
    assert "Add     OrdersFunction  AWS::Lambda::Function" in declined.stdout
    assert "execute this change set on stack shop-qa? [y/N]" in declined.stdout
    assert "nothing deployed: the change set is deleted" in declined.stdout
    cloudformation = aws.client("cloudformation")
    live = [
        s
        for s in cloudformation.list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    ]
    assert live == []

    missing = run("doit", "outputs", "stage=qa", cwd=root)
    assert missing.returncode != 0 and "no stack shop-qa: deploy it with" in missing.stderr
    accepted = run_on_a_terminal("doit", "deploy", "stage=qa", "confirm=true", cwd=root, answer="y")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "stack shop-qa: CREATE_COMPLETE" in accepted.stdout
    shown = run("doit", "outputs", "stage=qa", cwd=root)
    assert shown.returncode == 0, shown.stderr
    # moto keeps no outputs for this template (its HTTP API is one moto skips); what it has
    # is what is printed. The outputs' printing itself: test_deploy_failures (Stubber).
    stack = cloudformation.describe_stacks(StackName="shop-qa")["Stacks"][0]
    assert "stack shop-qa (CREATE_COMPLETE):" in shown.stdout
    for output in stack.get("Outputs", []):
        assert f"  {output['OutputKey']}: {output['OutputValue']}" in shown.stdout


def test_undeploy_of_a_stack_left_half_created(aws, tmp_path):
    """A deploy stopped after its change set was made leaves a REVIEW_IN_PROGRESS stack with
    no resources: undeploy removes it, saying so, with no traceback."""
    root = make_app(tmp_path)
    cloudformation = aws.client("cloudformation")
    cloudformation.create_change_set(
        StackName="shop-qa",
        ChangeSetName="stopped",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}),
    )
    assert cloudformation.describe_stacks(StackName="shop-qa")["Stacks"][0]["StackStatus"] == (
        "REVIEW_IN_PROGRESS"
    )
    removed = run("doit", "undeploy", "stage=qa", "yes=true", cwd=root)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "Traceback" not in removed.stderr
    assert "stack shop-qa (REVIEW_IN_PROGRESS) deletes 0 resource(s):" in removed.stdout
    assert "deleted stack shop-qa" in removed.stdout


def test_an_unreachable_endpoint_is_one_error_line(aws, tmp_path, monkeypatch):
    root = make_app(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard: nothing listens
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = run("doit", "deploy", cwd=root)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "error: deploying stage dev failed: Could not connect" in result.stderr
    removed = run("doit", "undeploy", "yes=true", cwd=root)
    assert removed.returncode != 0 and "Traceback" not in removed.stderr
    assert "error: removing stage dev failed: Could not connect" in removed.stderr


def test_a_configured_bucket_is_used_and_never_created(aws, tmp_path):
    root = make_app(tmp_path)
    missing = run("doit", "deploy", "bucket=not-there", cwd=root)
    assert missing.returncode != 0
    assert "bucket not-there" in missing.stderr and "Traceback" not in missing.stderr
    aws.client("s3").create_bucket(
        Bucket="team-deploys", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    settings = yaml.safe_load((root / "tight.yml").read_text())
    settings["deploy"] = {"bucket": "team-deploys"}
    (root / "tight.yml").write_text(yaml.safe_dump(settings))
    with (root / "env.dist.yml").open("a") as dist:
        dist.write("GREETING: hello\n")
    os.environ["GREETING"] = "bonjour"  # the environment's value is deployed
    try:
        result = run("doit", "deploy", cwd=root)
    finally:
        del os.environ["GREETING"]
    assert result.returncode == 0, result.stdout + result.stderr
    variables = aws.client("lambda").get_function(FunctionName="shop-dev-alerts")["Configuration"][
        "Environment"
    ]["Variables"]
    assert variables["GREETING"] == "bonjour" and variables["TIGHT_STAGE"] == "dev"
    keys = aws.client("s3").list_objects_v2(Bucket="team-deploys")["Contents"]
    assert all(k["Key"].startswith("shop/") for k in keys)
    assert "created bucket" not in result.stdout


def test_a_missing_region_is_a_clear_error(aws, tmp_path, monkeypatch):
    root = make_app(tmp_path)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = run("doit", "deploy", cwd=root)
    assert result.returncode != 0 and "no AWS region; set AWS_DEFAULT_REGION" in result.stderr


def test_the_default_bucket_name_is_valid_for_s3_whatever_the_app_name():
    assert (
        default_bucket("shop", "123456789012", "eu-west-1") == "shop-123456789012-eu-west-1-tight"
    )
    long = default_bucket("My_Very_Long_Application_Name_" * 3, "123456789012", "ap-southeast-2")
    other = default_bucket("My_Very_Long_Application_Name_" * 4, "123456789012", "ap-southeast-2")
    for name in (long, other):
        assert len(name) <= 63 and name == name.lower() and "_" not in name
        assert name.endswith("-123456789012-ap-southeast-2-tight")
    assert long != other


def test_a_rest_api_moto_cannot_build_is_one_line_and_no_stack_stays(aws, tmp_path):
    """moto builds the RestApi (it needs its Name) but no methods from SAM's OpenAPI body,
    then refuses the API's deployment, and with it the whole change set: one error line
    that says so, the half-made stack deleted, nothing of it left running."""
    root = make_app(tmp_path)
    settings = yaml.safe_load((root / "tight.yml").read_text())
    settings["api"] = "rest"
    (root / "tight.yml").write_text(yaml.safe_dump(settings))
    result = run("doit", "deploy", "stage=qa", cwd=root)
    assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(
        "error: executing the change set of shop-qa failed: The REST API doesn't contain any "
        "methods; the stack shop-qa is deleted (AWS_ENDPOINT_URL is set: an emulator such as "
        "moto builds no REST API methods"
    )
    stacks = aws.client("cloudformation").list_stacks()["StackSummaries"]
    assert [s["StackStatus"] for s in stacks if s["StackName"] == "shop-qa"] == ["DELETE_COMPLETE"]
    functions = aws.client("lambda").list_functions()["Functions"]
    assert not [f for f in functions if f["FunctionName"].startswith("shop-qa-")]
    assert "shop-qa-item" not in aws.client("dynamodb").list_tables()["TableNames"]
