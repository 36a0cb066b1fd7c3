"""The typed-request benchmark compares like with like: Tight (typed with a dataclass, typed
with a TypedDict, and the untyped twin) and Powertools' validating resolver give the same
answer to the same 10-field order, and the typed ones refuse a bad order with a 422."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "runtime"
sys.path.insert(0, str(BENCH))

import typed as typed_bench  # noqa: E402


def test_every_framework_answers_the_order_alike_and_refuses_the_bad_one(tmp_path):
    events = typed_bench.write_events(tmp_path)
    folders = {name: typed_bench.build(name, tmp_path) for name in typed_bench.FRAMEWORKS}
    assert folders["tight"][0] == folders["untyped"][0]  # one app, three functions
    typed_bench.check(folders, events)  # raises, naming the framework, on any difference
    bad = typed_bench.run_child(*folders["untyped"], events["bad"])
    assert bad["status"] == 200  # the untyped twin checks nothing: the 422s are the types'
