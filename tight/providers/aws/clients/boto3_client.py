"""``session()``: the one boto3 Session every Tight client is built from.

One session means one place for credentials, region and SDK hooks: the test plugin attaches
its recorder here, so recordings cover every client made from it. boto3 is imported on the
first call, not at import, to keep it off the cold-start path of functions that never use it.
"""

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does.
    Any = object

_lock = threading.Lock()
_session: Any = None


def session(**kwargs: Any) -> Any:
    """The cached ``boto3.session.Session``; created on first use with ``kwargs``."""
    global _session
    if _session is None:
        with _lock:
            if _session is None:
                import boto3.session

                _session = boto3.session.Session(**kwargs)
    return _session


def set_session(new_session: Any) -> None:
    """Replace the cached session (the test plugin sets one with its recorder attached)."""
    global _session
    with _lock:
        _session = new_session


def reset() -> None:
    """Forget the cached session; the next ``session()`` builds a new one."""
    set_session(None)
