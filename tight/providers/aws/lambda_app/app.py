"""``run()``: expose every ``app/functions/<name>/handler.py`` as ``app_index.<name>``.

Called from the app's ``app_index.py``; Lambda's handler setting is then
``app_index.<name>``. Nothing is imported up front: each function's handler module is
imported on that function's first call and reused after, so a cold start pays only for the
function that runs, however many the app has.
"""

import importlib
import os
import sys
from keyword import iskeyword
from types import ModuleType

from tight import config
from tight.providers.aws.controllers import lambda_proxy_event

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does.
    Any = object

FUNCTIONS_DIR = ("app", "functions")
HANDLER_FILE = "handler.py"


class AppError(Exception):
    """The app's layout is wrong; the message names the folder and the fix."""


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
            serve = self._load()
            if serve is None:
                return _import_failed(self.name, event, context)
        return serve(event, context, self.name)

    def _load(self) -> Any:
        try:
            module = importlib.import_module(self.module_name)
        except Exception:  # noqa: BLE001 - logged, answered with a 500 by the caller
            from tight.core import logger

            lambda_proxy_event.serve_as(self.name)
            logger.exception(
                message=f"cannot import {self.module_name.replace('.', '/')}.py",
                function=self.name,
            )
            return None
        controller = lambda_proxy_event.controller_for(module.__name__)
        if controller is not None:
            self._serve = controller.dispatch
        elif callable(getattr(module, "handler", None)):
            plain = module.handler
            self._serve = lambda event, context, _name: plain(event, context)
        else:
            from tight.core import logger

            lambda_proxy_event.serve_as(self.name)
            logger.error(
                message=(
                    f"app/functions/{self.name}/handler.py registers no handler; decorate a "
                    "function with @lambda_proxy.get (or post, put, ...) "
                    "or define handler(event, context)"
                ),
                function=self.name,
            )
            return None
        return self._serve

    def __repr__(self) -> str:
        return f"<tight function {self.name} ({self.module_name})>"


def _import_failed(name: str, event: Any, context: Any) -> Any:
    from tight import response
    from tight.request import REST, event_kind

    kind = event_kind(event) or REST
    request_id = getattr(context, "aws_request_id", None)
    return response.server_error(request_id, kind, {})


def discover(app_root: str) -> list[str]:
    """The names of the app's functions: folders of ``app/functions`` holding handler.py."""
    functions_dir = os.path.join(app_root, *FUNCTIONS_DIR)
    try:
        entries = list(os.scandir(functions_dir))
    except FileNotFoundError:
        raise AppError(
            f"no app/functions folder in {app_root}; create a function with "
            "`doit generate_function name=<name>`"
        ) from None
    names = []
    for entry in entries:
        if not entry.is_dir() or not os.path.isfile(os.path.join(entry.path, HANDLER_FILE)):
            continue
        name = entry.name
        if not name.isidentifier() or iskeyword(name):
            raise AppError(
                f"app/functions/{name} is not a valid Python identifier, so Lambda cannot call "
                f"it as app_index.{name}; rename the folder (letters, digits and _, not "
                "starting with a digit, not a Python keyword)"
            )
        names.append(name)
    names.sort()
    return names


def run(module: ModuleType | str | None = None) -> list[str]:
    """Put one callable per app function on the calling module (``app_index``).

    Returns the function names. ``module`` defaults to the module that called ``run()``.
    """
    if module is None:
        module = sys._getframe(1).f_globals["__name__"]
    if isinstance(module, str):
        module = sys.modules[module]
    module_file = getattr(module, "__file__", None)
    if not module_file:
        raise AppError("run() must be called from a module file such as app_index.py")
    app_root = os.path.dirname(os.path.abspath(module_file))
    names = discover(app_root)
    for name in names:
        existing = getattr(module, name, None)
        if existing is not None and not isinstance(existing, LambdaFunction):
            raise AppError(
                f"app/functions/{name} would replace {module.__name__}.{name}, which is "
                "already defined there; rename the function folder"
            )
    if app_root not in sys.path:
        sys.path.insert(0, app_root)
    config.set_app_root(app_root)
    for name in names:
        setattr(module, name, LambdaFunction(name, f"app.functions.{name}.handler"))
    return names
