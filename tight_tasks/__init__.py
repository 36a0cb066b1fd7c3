"""Tight's doit task module: an app's ``dodo.py`` does ``from tight_tasks import *``.

Each task is a ``task_*`` creator whose docstring is the line ``doit list`` shows and whose
parameters ``doit help <task>`` documents; parameters are given as ``name=value`` (doit
command-line variables) or ``--name value``. Each creator lives beside the work it runs:

| module | tasks |
|---|---|
| ``scaffold`` | generate_app, generate_function, generate_model |
| ``env`` | generate_env |
| ``apptests`` | test |
| ``lock``, ``vendor``, ``artifact`` | lock, vendor, artifact |
| ``schema`` | schema |
| ``template``, ``deploy`` | template, deploy, undeploy, outputs |
| ``permissions`` | permissions (also run by test) |
| ``dynamo`` | dynamo_install, dynamo_start, dynamo_stop, dynamo_status, dynamo_reset |
| ``events_cli``, ``logs`` | event, logs |
| ``serve``, ``invoke`` | serve, invoke (functions run in ``worker`` processes) |
| ``openapi`` | openapi (handlers read by ``describe`` in a process of their own) |
| ``dlq`` | dlq (the failure queues, locally or deployed) |

This module only gathers them, with doit's configuration.
"""

import hashlib
from pathlib import Path

from tight_tasks.apptests import task_test
from tight_tasks.artifact import task_artifact
from tight_tasks.config import user_cache
from tight_tasks.deploy import task_deploy, task_outputs, task_undeploy
from tight_tasks.dlq import task_dlq
from tight_tasks.dynamo import (
    task_dynamo_install,
    task_dynamo_reset,
    task_dynamo_start,
    task_dynamo_status,
    task_dynamo_stop,
)
from tight_tasks.env import task_generate_env
from tight_tasks.errors import TightReporter
from tight_tasks.events_cli import task_event
from tight_tasks.invoke import task_invoke
from tight_tasks.lock import task_lock
from tight_tasks.logs import task_logs
from tight_tasks.openapi import task_openapi
from tight_tasks.permissions import task_permissions
from tight_tasks.scaffold import (
    task_generate_app,
    task_generate_function,
    task_generate_model,
)
from tight_tasks.schema import task_schema
from tight_tasks.serve import task_serve
from tight_tasks.template import task_template
from tight_tasks.vendor import task_vendor


def _dep_file() -> str:
    """doit's state lives in the user's cache, keyed by folder, not in the app's tree: a
    task that fails on bad input leaves the tree exactly as it was."""
    cache = user_cache("doit")
    cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(str(Path.cwd().resolve()).encode()).hexdigest()[:20]
    return str(cache / f"{key}.json")


DOIT_CONFIG = {
    "default_tasks": ["test"],
    "verbosity": 2,
    "reporter": TightReporter,
    "backend": "json",
    "dep_file": _dep_file(),
}

__all__ = [
    "DOIT_CONFIG",
    "task_artifact",
    "task_deploy",
    "task_dlq",
    "task_dynamo_install",
    "task_dynamo_reset",
    "task_dynamo_start",
    "task_dynamo_status",
    "task_dynamo_stop",
    "task_event",
    "task_generate_app",
    "task_generate_env",
    "task_generate_function",
    "task_generate_model",
    "task_invoke",
    "task_lock",
    "task_logs",
    "task_openapi",
    "task_outputs",
    "task_permissions",
    "task_schema",
    "task_serve",
    "task_template",
    "task_test",
    "task_undeploy",
    "task_vendor",
]
