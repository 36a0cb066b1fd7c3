"""``safeget(dct, *keys)``: walk nested dicts (and lists) without KeyError or TypeError."""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    # Annotations are evaluated at import; loading typing for them would cost every
    # cold start more than this whole module does.
    Any = object


def safeget(dct: Any, *keys: Any, default: Any = None) -> Any:
    """Return ``dct[k1][k2]...``, or ``default`` when any step is missing or not a container.

    Integer keys index lists, so ``safeget(event, "records", 0, "id")`` works.
    """
    current = dct
    for key in keys:
        try:
            current = current[key]
        except (KeyError, IndexError, TypeError):
            return default
        if current is None:
            return default
    return current
