"""Markers that narrow a type inside ``typing.Annotated``, for typed handlers.

``Annotated[int, Range(ge=1, le=100)]``, ``Annotated[str, Length(max=80), Pattern("^[a-z]+$")]``,
``Annotated[NewItem, AllowExtra()]`` (unknown fields kept instead of refused) and, on a
return annotation, ``Annotated[Item, Status(201)]``. ``tight.typed`` checks requests against
them and ``doit openapi`` writes them as JSON Schema keywords. Plain classes, no imports: a
handler module that uses them pays for this file alone.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
else:
    Any = object


class Range:
    """Bounds of a number: ``ge``/``le`` inclusive, ``gt``/``lt`` exclusive."""

    __slots__ = ("ge", "gt", "le", "lt")

    def __init__(self, *, ge: Any = None, gt: Any = None, le: Any = None, lt: Any = None) -> None:
        if ge is None and gt is None and le is None and lt is None:
            raise TypeError("Range() needs at least one bound: ge, gt, le or lt")
        self.ge, self.gt, self.le, self.lt = ge, gt, le, lt

    def __repr__(self) -> str:
        bounds = (
            f"{k}={getattr(self, k)!r}" for k in self.__slots__ if getattr(self, k) is not None
        )
        return f"Range({', '.join(bounds)})"


class Length:
    """How many characters a string, items a list or keys a dict may have."""

    __slots__ = ("max", "min")

    def __init__(self, min: "int | None" = None, max: "int | None" = None) -> None:
        if min is None and max is None:
            raise TypeError("Length() needs min, max or both")
        self.min, self.max = min, max

    def __repr__(self) -> str:
        return f"Length(min={self.min!r}, max={self.max!r})"


class Pattern:
    """A regular expression a string must contain a match of (``re.search``, as JSON
    Schema's ``pattern``): anchor it with ``^...$`` to match the whole string."""

    __slots__ = ("regex",)

    def __init__(self, regex: str) -> None:
        self.regex = regex

    def __repr__(self) -> str:
        return f"Pattern({self.regex!r})"


class AllowExtra:
    """On a dataclass or TypedDict: fields it does not declare are accepted (a TypedDict
    keeps them, a dataclass ignores them) instead of answered with a 422."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "AllowExtra()"


class Status:
    """On a return annotation: the status of a successful answer (200 by default)."""

    __slots__ = ("code",)

    def __init__(self, code: int) -> None:
        self.code = code

    def __repr__(self) -> str:
        return f"Status({self.code})"
