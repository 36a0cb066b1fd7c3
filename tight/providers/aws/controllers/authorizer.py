"""Lambda authorizers: ``@authorizer.request`` registers the function API Gateway calls before
a route's own function, to say who the caller is or to turn them away.

    from tight.providers.aws.controllers import authorizer

    @authorizer.request
    def check(*args, **kwargs):
        token = kwargs["request"].header("authorization")
        if token != "let-me-in":
            return authorizer.deny()
        return authorizer.allow("user-1", context={"plan": "pro"})

The handler gets the keyword arguments ``event``, ``context`` and ``request`` (a
``tight.request.Request`` over the authorizer's event: headers, query, path...), and the
decorator returns it unchanged. What it returns is answered in the shape of the API that
asked, read from the event itself:

- a REST API (a REQUEST authorizer) gets an IAM policy allowing or denying
  ``execute-api:Invoke`` on the whole stage, with ``principalId`` and ``context``. The whole
  stage, because the answer is cached by identity for the TTL and then applies to the
  caller's other routes too: a policy naming one route would deny the next from the cache;
- an HTTP API (payload 2.0, simple responses) gets ``{"isAuthorized", "context"}``, the
  principal id in the context as ``principalId``.

``deny()`` is a 403 on both. Raising ``tight.errors.Unauthorized`` is a 401 on a REST API (the
one error text API Gateway reads as that); any other raise fails the authorizer (500).
Context values are strings, numbers or booleans, as API Gateway passes them on.
"""

import sys

from tight import serving

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Handler = Callable[..., Any]
else:
    Any = Handler = object

POLICY_VERSION = "2012-10-17"


class Allow:
    """The caller may go on: ``principal_id`` is who they are, ``context`` what the route's
    function finds in ``request.authorizer_context``."""

    __slots__ = ("context", "principal_id")

    def __init__(self, principal_id: str, context: "dict[str, Any] | None" = None) -> None:
        if not isinstance(principal_id, str) or not principal_id:
            raise TypeError(
                f"allow() needs the caller's id as a non-empty string, not {principal_id!r}"
            )
        self.principal_id = principal_id
        self.context = _checked_context(context)

    def __repr__(self) -> str:
        return f"allow({self.principal_id!r}, context={self.context!r})"


class Deny:
    """The caller is turned away with a 403."""

    __slots__ = ("principal_id",)

    def __init__(self, principal_id: str = "anonymous") -> None:
        self.principal_id = principal_id

    def __repr__(self) -> str:
        return "deny()"


def _checked_context(context: "dict[str, Any] | None") -> "dict[str, Any]":
    if context is None:
        return {}
    if not isinstance(context, dict):
        raise TypeError(f"allow()'s context must be a dict, not {type(context).__name__}")
    for key, value in context.items():
        if not isinstance(key, str) or not isinstance(value, (str, int, float, bool)):
            raise TypeError(
                f"allow()'s context[{key!r}] is a {type(value).__name__}; API Gateway passes "
                "on strings, numbers and booleans only (encode others, e.g. with json.dumps)"
            )
    return dict(context)


def allow(principal_id: str, context: "dict[str, Any] | None" = None) -> Allow:
    """Let the caller through as ``principal_id``, with ``context`` for the route's function."""
    return Allow(principal_id, context)


def deny() -> Deny:
    """Turn the caller away: API Gateway answers 403 and the route's function is not called."""
    return Deny()


def _stage_arn(event: "dict[str, Any]") -> str:
    """``arn:aws:execute-api:<region>:<account>:<api>/<stage>/*`` from the event's ARN."""
    arn = event.get("methodArn") or event.get("routeArn") or ""
    parts = str(arn).split("/")
    return "/".join(parts[:2]) + "/*" if len(parts) >= 2 else "*"


def rest_answer(event: "dict[str, Any]", result: "Allow | Deny") -> "dict[str, Any]":
    """A REST API's authorizer output: the IAM policy, principal id and context."""
    statement = {
        "Action": "execute-api:Invoke",
        "Effect": "Allow" if isinstance(result, Allow) else "Deny",
        "Resource": _stage_arn(event),
    }
    answer: dict[str, Any] = {
        "principalId": result.principal_id,
        "policyDocument": {"Version": POLICY_VERSION, "Statement": [statement]},
    }
    if isinstance(result, Allow) and result.context:
        answer["context"] = result.context
    return answer


def http_answer(result: "Allow | Deny") -> "dict[str, Any]":
    """An HTTP API's simple response."""
    if isinstance(result, Deny):
        return {"isAuthorized": False}
    return {"isAuthorized": True, "context": {**result.context, "principalId": result.principal_id}}


class Controller:
    """The one authorizer handler of a module."""

    __slots__ = ("handler", "module")

    def __init__(self, module: str, handler: Handler) -> None:
        self.module = module
        self.handler = handler

    def dispatch(self, event: Any, context: Any = None, function: "str | None" = None) -> Any:
        """The answer API Gateway expects from this authorizer for ``event``."""
        from tight.request import Request

        if not isinstance(event, dict) or event.get("type") != "REQUEST":
            serving.serve_as(function, None, context)
            raise TypeError(
                f"{function or self.module} is a Lambda authorizer: it answers API Gateway's "
                "REQUEST authorizer events, not this event (is the route's auth set right?)"
            )
        request = Request(event, None, context)
        serving.current = (function, request, context)
        is_http = event.get("version") == "2.0"
        try:
            result = self.handler(event=event, context=context, request=request)
        except Exception as error:
            errors = sys.modules.get("tight.errors")
            if errors is not None and isinstance(error, errors.Unauthorized):
                if is_http:
                    return http_answer(Deny())
                # API Gateway reads exactly this message as "answer 401".
                raise Exception("Unauthorized") from None
            raise
        if isinstance(result, dict):
            return result  # an answer built by hand, passed on as it is
        if not isinstance(result, (Allow, Deny)):
            raise TypeError(
                f"{self.handler.__qualname__} returned {result!r}; a Lambda authorizer returns "
                "authorizer.allow(principal_id, context={...}) or authorizer.deny()"
            )
        return http_answer(result) if is_http else rest_answer(event, result)


_controllers: "dict[str, Controller]" = {}


def controller_for(module: str) -> "Controller | None":
    """The authorizer a module registered, if any."""
    return _controllers.get(module)


def request(handler: Handler) -> Handler:
    """Register ``handler`` as its module's Lambda authorizer; returns it unchanged."""
    if not callable(handler):
        raise TypeError(f"@authorizer.request decorates a function, not {handler!r}")
    serving.require_plain_function(handler, "authorizer.request")
    module = handler.__module__
    existing = _controllers.get(module)
    if existing is not None and existing.handler.__qualname__ != handler.__qualname__:
        raise TypeError(
            f"{module} registers two authorizers, {existing.handler.__qualname__} and "
            f"{handler.__qualname__}; keep one @authorizer.request per function module"
        )
    _controllers[module] = Controller(module, handler)
    return handler
