"""doit template's roles: each function may read the tables of the models its code uses,
however it imports them, and write only those it writes; a model use the template cannot
give a table is an error naming the function and the model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from tight_tasks.deploy import to_cloudformation
from tight_tasks.policies import READ_ACTIONS, WRITE_ACTIONS

BIN = Path(sys.executable).parent


def model(name: str, methods: str = "") -> str:
    return (
        "from tight.models import Model, String\n\n"
        f'STATUSES = ("new", "done")\n\n\nclass {name}(Model):\n'
        f'    hash_key = "id"\n    id = String()\n{methods}'
    )


ITEM_MODEL = model(
    "Item",
    "\n    def rename(self, name):\n        self.touch(name=name)\n\n"
    "    def touch(self, **values):\n        self.update(set=values)\n",
)

HTTP = "import tight.providers.aws.controllers.lambda_proxy_event as lambda_proxy\n"

# function -> its files; the comment says what its role must allow.
FUNCTIONS = {
    # relative import of a model, a write through an instance made from the event
    "relative": {
        "handler.py": HTTP + "from ...models.item import Item\n\n\n@lambda_proxy.post\n"
        "def post_handler(*args, **kwargs):\n    Item(**kwargs['event']['body']).save()\n"
    },
    # through the re-export in app/models/__init__.py; reads only
    "reexported": {
        "handler.py": HTTP + "from app.models import Item\n\n\n@lambda_proxy.get\n"
        "def get_handler(*args, **kwargs):\n    return {'body': Item.get('1').to_dict()}\n"
    },
    # a module alias; deletes
    "aliased": {
        "handler.py": "import app.models.order as m\n\n\ndef handler(event, context):\n"
        "    m.Order.get(event['id']).delete()\n"
    },
    # a helper beside the handler (relative), which imports app/lib/lookup.py; reads Order
    "helped": {
        "helpers.py": "from app.lib.lookup import find\n\n\ndef summary(key):\n"
        "    return {'order': find(key)}\n",
        "handler.py": HTTP + "from .helpers import summary\n\n\n@lambda_proxy.get\n"
        "def get_handler(*args, **kwargs):\n    return {'body': summary('1')}\n",
    },
    # dict.update on the event's body and on a plain dict is no write; reads Audit
    "merging": {
        "handler.py": HTTP + "from app.models.audit import Audit\n\n\n@lambda_proxy.put\n"
        "def put_handler(*args, **kwargs):\n    data = kwargs['event']['body']\n"
        "    data.update({'seen': True})\n    extra = {}\n"
        "    extra.update(Audit.get('1').to_dict())\n    return {'body': {**data, **extra}}\n"
    },
    # a model's own method that writes (rename -> touch -> update)
    "renaming": {
        "handler.py": "from app.models.item import Item\n\n\ndef handler(event, context):\n"
        "    item = Item.get(event['id'])\n    item.rename(event['name'])\n"
    },
    # a transaction writes its items' tables, not the class it is opened on
    "transacting": {
        "handler.py": "from app.models import Item\nfrom app.models.audit import Audit\n"
        "from app.models.order import Order\n\n\ndef handler(event, context):\n"
        "    with Order.transaction() as t:\n        t.put(Audit(id=event['id']))\n"
        "        t.check(Item.get(event['id']), None)\n"
    },
    # an instance handed to a helper that saves whatever it is given: every table it uses
    "handing": {
        "store.py": "def persist(thing):\n    thing.save()\n",
        "handler.py": "from app.models.audit import Audit\nfrom app.models.order import Order\n"
        "from .store import persist\n\n\ndef handler(event, context):\n"
        "    persist(Audit(id='1'))\n    return Order.get('1').to_dict()\n",
    },
    # values passed around a cycle of names still reach the write
    "rotating": {
        "handler.py": "from app.models.audit import Audit\n\n\ndef handler(event, context):\n"
        "    a = Audit.get(event['id'])\n    for _ in range(2):\n        c = a\n        a = b\n"
        "        b = c\n    b.delete()\n"
    },
}
# function -> (tables it reads only, tables it reads and writes)
EXPECTED = {
    "relative": ([], ["ItemTable"]),
    "reexported": (["ItemTable"], []),
    "aliased": ([], ["OrderTable"]),
    "helped": (["OrderTable"], []),
    "merging": (["AuditTable"], []),
    "renaming": ([], ["ItemTable"]),
    "transacting": (["ItemTable", "OrderTable"], ["AuditTable"]),
    "handing": ([], ["AuditTable", "OrderTable"]),
    "rotating": ([], ["AuditTable"]),
}


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=cwd, capture_output=True, text=True
    )


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.name != "app" and not (path.parent / "__init__.py").exists():
            (path.parent / "__init__.py").write_text("")
        path.write_text(text)


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert run("tight", "generate_app", "name=shop", cwd=tmp_path).returncode == 0
    root = tmp_path / "shop"
    files = {
        "app/models/item.py": ITEM_MODEL,
        "app/models/order.py": model("Order"),
        "app/models/audit.py": model("Audit"),
        "app/models/__init__.py": "from app.models.item import Item\n\n__all__ = ['Item']\n",
        "app/lib/lookup.py": "from ..models.order import Order\n\n\ndef find(key):\n"
        "    return Order.get(key).to_dict()\n",
    }
    for function, sources in FUNCTIONS.items():
        files.update({f"app/functions/{function}/{n}": text for n, text in sources.items()})
    write(root, files)
    return root


def tables_of(resources: dict, function: str) -> tuple[list[str], list[str]]:
    """(tables the role reads only, tables it reads and writes), checking the actions."""
    role = resources[f"{function}Role"]["Properties"]["Policies"][0]["PolicyDocument"]
    reads: list[str] = []
    writes: list[str] = []
    for statement in role["Statement"]:
        if not any(a.startswith("dynamodb:") for a in statement["Action"]):
            continue
        tables = [r["Fn::GetAtt"][0] for r in statement["Resource"] if "Fn::GetAtt" in r]
        if statement["Action"] == sorted(READ_ACTIONS):
            reads += tables
        else:
            assert statement["Action"] == sorted(READ_ACTIONS + WRITE_ACTIONS)
            writes += tables
    return reads, writes


def test_each_role_reads_the_tables_its_code_uses_and_writes_only_those_it_writes(app):
    result = run("doit", "template", cwd=app)
    assert result.returncode == 0, result.stdout + result.stderr
    assert run("cfn-lint", "build/template.yml", cwd=app).returncode == 0
    document = yaml.safe_load((app / "build/template.yml").read_text())
    locations = {"shop.zip": {"Bucket": "deploys", "Key": "shop/shop.zip"}}
    session = boto3.session.Session(region_name="us-east-1")
    resources = to_cloudformation(document, locations, session)["Resources"]
    assert {f: tables_of(resources, f.title() + "Function") for f in FUNCTIONS} == EXPECTED


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (  # not re-exported by app/models/__init__.py
            {
                "app/functions/reexported/handler.py": "from app.models import Order\n\n\n"
                "def handler(event, context):\n    return Order.get('1').to_dict()\n"
            },
            "app/functions/reexported uses Order from app.models "
            "(app/functions/reexported/handler.py), which has no Order, so no table",
        ),
        (  # a model defined in a helper, used by a function through another helper
            {
                "app/lib/special.py": "from app.models.item import Item\n\n\n"
                "class Special(Item):\n    pass\n",
                "app/lib/lookup.py": "from app.lib.special import Special\n\n\n"
                "def find(key):\n    return Special.get(key).to_dict()\n",
            },
            "app/functions/helped uses model Special (app/lib/lookup.py), defined in "
            "app.lib.special, which has no table",
        ),
    ],
)
def test_a_model_use_without_a_table_is_an_error_naming_function_and_model(app, files, message):
    write(app, files)
    result = run("doit", "template", cwd=app)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "doit generate_model" in result.stderr or "re-export it" in result.stderr
    assert not (app / "build/template.yml").exists()


def test_code_with_lambdas_is_read(tmp_path):
    """A lambda is a function without a name or decorators: reading it failed the demo's
    `doit artifact` with an AttributeError."""
    from tight_tasks.model_uses import read_uses

    (tmp_path / "app" / "models").mkdir(parents=True)
    (tmp_path / "app" / "models" / "item.py").write_text(ITEM_MODEL)
    handler = tmp_path / "app" / "functions" / "items" / "handler.py"
    handler.parent.mkdir(parents=True)
    handler.write_text(
        "from app.models.item import Item\n\n\n"
        "def handler(event, context, key=lambda item: item.id):\n"
        "    found = sorted(Item.scan(), key=lambda item: (item.id, key(item)))\n"
        "    found[0].save()\n"
        "    return {'n': len(found), 'f': (lambda: Item)()}\n"
    )
    uses = read_uses(tmp_path, [handler])
    assert "Item" in str(uses.models) and uses.writes
