"""``Poller``: the thread under each of ``doit serve``'s local event sources (an SQS queue,
the queues that carry SNS, S3 and EventBridge events, the stream shards).

A subclass says what one pass does (``poll_once``, the count of messages or records it
handled); the base runs passes until stopped, waits ``idle`` seconds after a pass that
found nothing (0: the pass itself waits, as a long poll does), and a second after one that
failed (the local server went away; it may come back).
"""

from __future__ import annotations

import threading


class Poller:
    name = "tight-poller"
    idle = 0.0

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> int:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if not self.poll_once() and self.idle:
                    self._stopping.wait(self.idle)
            except Exception:  # noqa: BLE001 - the local server went away: try again soon
                self._stopping.wait(1.0)

    def halt(self) -> None:
        """Ask the thread to stop after what it is doing (``stop`` waits for it)."""
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self.stopped()

    def stopped(self) -> None:
        """What to do once the thread has ended (nothing, unless a subclass says)."""
