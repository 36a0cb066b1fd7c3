"""``run()``: expose every ``app/functions/<name>/handler.py`` as ``app_index.<name>``.

Called from the app's ``app_index.py``; Lambda's handler setting is then
``app_index.<name>``. Nothing is imported up front: each function's handler module is
imported on that function's first call and reused after, so a cold start pays only for the
function that runs, however many the app has.

It records what is being served now (``tight.serving``), for the log lines written while
serving it. The controller modules are not imported here: a function loads the one its
handler uses (an SQS function never loads the HTTP request and response code).
"""

import importlib
import os
import sys
from keyword import iskeyword
from types import ModuleType

from tight import config, register_folder
from tight.serving import require_plain_function as require_plain_function
from tight.serving import serve_as

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tight.errors import AppError as AppError
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does. Those that would build an object
    # (``str | None``, ``dict[str, Any]``) are quoted, so the cold start builds none.
    Any = object

FUNCTIONS_DIR = ("app", "functions")
HANDLER_FILE = "handler.py"
LAMBDA_PROXY = "tight.providers.aws.controllers.lambda_proxy_event"
AUTHORIZER = "tight.providers.aws.controllers.authorizer"

# AppError lives in tight.errors, loaded only when something fails; the name stays
# importable from here.
if not TYPE_CHECKING:  # type checkers see the import under TYPE_CHECKING instead

    def __getattr__(name: str) -> Any:
        if name == "AppError":
            from tight.errors import AppError

            return AppError
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _app_error(message: str) -> Exception:
    """``tight.errors.AppError``, imported only when it is raised."""
    from tight.errors import AppError

    return AppError(message)


class LambdaFunction:
    """The callable Lambda invokes for one app function: ``app_index.<name>(event, context)``."""

    __slots__ = ("__weakref__", "_serve", "module_name", "name")

    def __init__(self, name: str, module_name: str) -> None:
        self.name = name
        self.module_name = module_name
        self._serve: Any = None

    def __call__(self, event: Any, context: Any = None) -> Any:
        serve = self._serve
        if serve is None:
            serve = self._load(context)
            if serve is None:
                return _load_failed(self.name, event, context)
        return serve(event, context, self.name)

    def _load(self, context: Any) -> Any:
        """The function that serves this app function, or None (logged) if there is none."""
        try:
            module = importlib.import_module(self.module_name)
            # Only a module that imported a controller can have registered handlers on it.
            proxy = sys.modules.get(LAMBDA_PROXY)
            http = proxy.controller_for(module.__name__) if proxy is not None else None
            batch = sys.modules.get("tight.batch")
            records = batch.controller_of(module) if batch is not None else None
            if batch is not None and http is not None and records is not None:
                raise batch.KindConflict(batch.http_conflict(module.__name__, records.source.name))
            authorizers = sys.modules.get(AUTHORIZER)
            authorizer = authorizers.controller_for(module.__name__) if authorizers else None
            if authorizer is not None and (http is not None or records is not None):
                raise _app_error(
                    f"app/functions/{self.name}/handler.py registers a Lambda authorizer and "
                    "other handlers; an authorizer is a function of its own: split them"
                )
        except Exception:  # noqa: BLE001 - logged; answered by _load_failed
            from tight.core import logger

            serve_as(self.name, None, context)
            logger.exception(
                message=f"cannot import {self.module_name.replace('.', '/')}.py",
                function=self.name,
            )
            return None
        if http is not None:
            self._serve = http.dispatch
        elif authorizer is not None:
            self._serve = authorizer.dispatch
        elif records is not None:
            self._serve = records.dispatch
        elif callable(getattr(module, "handler", None)):
            self._serve = _plain(module.handler)
        else:
            from tight.core import logger

            serve_as(self.name, None, context)
            logger.error(
                message=(
                    f"app/functions/{self.name}/handler.py registers no handler; decorate a "
                    "function with @lambda_proxy.get (or post, put, ...), with @sqs.record "
                    "(or sns, s3, kinesis, dynamodb_stream, eventbridge), "
                    "or define handler(event, context)"
                ),
                function=self.name,
            )
            return None
        return self._serve

    def __repr__(self) -> str:
        return f"<tight function {self.name} ({self.module_name})>"


def _plain(handler: Any) -> Any:
    """Serve a plain ``handler(event, context)``, its log lines stamped with the function."""

    def serve(event: Any, context: Any, name: str) -> Any:
        serve_as(name, None, context)
        return handler(event, context)

    return serve


def _load_failed(name: str, event: Any, context: Any) -> Any:
    """Answer an HTTP request with a 500; raise for any other event, so that Lambda keeps
    (retries) a batch or a message instead of deleting it as handled."""
    from tight import response
    from tight.request import event_kind

    kind = event_kind(event)
    if kind is None:
        raise _app_error(
            f"app/functions/{name}/handler.py could not be loaded (the error is logged); "
            "the event is not handled, so Lambda retries it"
        )
    request_id = getattr(context, "aws_request_id", None)
    return response.server_error(request_id, kind, {})


def discover(app_root: str) -> "list[str]":
    """The names of the app's functions: folders of ``app/functions`` holding handler.py."""
    functions_dir = os.path.join(app_root, *FUNCTIONS_DIR)
    try:
        entries = list(os.scandir(functions_dir))
    except FileNotFoundError:
        raise _app_error(
            f"no app/functions folder in {app_root}; create a function with "
            "`doit generate_function name=<name>`"
        ) from None
    names = []
    for entry in entries:
        if not entry.is_dir() or not os.path.isfile(os.path.join(entry.path, HANDLER_FILE)):
            continue
        name = entry.name
        if not name.isidentifier() or iskeyword(name):
            raise _app_error(
                f"app/functions/{name} is not a valid Python identifier, so Lambda cannot call "
                f"it as app_index.{name}; rename the folder (letters, digits and _, not "
                "starting with a digit, not a Python keyword)"
            )
        names.append(name)
    names.sort()
    return names


def run(module: "ModuleType | str | None" = None) -> "list[str]":
    """Put one callable per app function on the calling module (``app_index``).

    Returns the function names. ``module`` defaults to the module that called ``run()``.
    """
    if module is None:
        module = sys._getframe(1).f_globals["__name__"]
    if isinstance(module, str):
        module = sys.modules[module]
    module_file = getattr(module, "__file__", None)
    if not module_file:
        raise _app_error("run() must be called from a module file such as app_index.py")
    app_root = os.path.dirname(os.path.abspath(module_file))
    names = discover(app_root)
    for name in names:
        existing = getattr(module, name, None)
        if existing is not None and not isinstance(existing, LambdaFunction):
            raise _app_error(
                f"app/functions/{name} would replace {module.__name__}.{name}, which is "
                "already defined there; rename the function folder"
            )
    if app_root not in sys.path:
        sys.path.insert(0, app_root)
    # In a vendored runtime (as Lambda runs it) the functions' packages are then found by
    # their path, without Python's search through each folder.
    register_folder("app", os.path.join(app_root, "app"))
    config.set_app_root(app_root)
    for name in names:
        setattr(module, name, LambdaFunction(name, f"app.functions.{name}.handler"))
    return names
