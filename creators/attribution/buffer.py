"""A worker process's click buffer: taps wait here for a few milliseconds, then go out together.

One Redis round trip per tap cost the redirect nearly half of its CPU. The buffer collects
the taps of every thread of the process and hands them to `push` in one call when the
oldest has waited `max_delay()` seconds, when `max_items()` are waiting, or when the process
exits. Nothing is decided here: uniqueness is still settled in Redis at the push, so it
stays exact across processes.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Buffer(Generic[T]):
    """Thread-safe, fork-aware batching of items for one `push` callable."""

    def __init__(
        self,
        *,
        push: Callable[[list[T]], None],
        max_delay: Callable[[], float],
        max_items: Callable[[], int],
        name: str = "buffer",
        after_thread_push: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # Limits are callables so that settings are read when used, not at import.
        self._push = push
        self._max_delay = max_delay
        self._max_items = max_items
        self._name = name
        # Run in the buffer's own thread after each push, e.g. to release what it opened.
        self._after_thread_push = after_thread_push
        self._sleep = sleep
        self._reset()
        # A forked child (a server worker) starts empty, with its own locks and thread:
        # whatever the parent held is the parent's to push. Reset before the child runs
        # any other thread, so no tap can race the reset.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        # Held while a batch is pushed, so that flush() returns only once the items it
        # took (or an earlier flush took) have been handed over.
        self._pushing = threading.Lock()
        self._items: list[T] = []
        self._waiting = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, item: T) -> None:
        """Take one item; push the batch now if it is full."""
        with self._lock:
            if self._thread is None:
                self._start()
            self._items.append(item)
            size = len(self._items)
        if size >= self._max_items():
            self.flush()
        elif size == 1:
            self._waiting.set()

    def flush(self) -> int:
        """Push everything waiting, `max_items()` per call; returns how many items went."""
        with self._pushing:
            with self._lock:
                items, self._items = self._items, []
            size = max(1, self._max_items())
            for start in range(0, len(items), size):
                self._push(items[start : start + size])
        return len(items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        atexit.register(self._flush_at_exit, os.getpid())

    def _run(self) -> None:
        while True:
            self._waiting.wait()
            # Let the batch fill for max_delay after its first item, then push it. An item
            # added during the sleep is in this batch; one added after the swap sets the
            # event again and starts the next wait.
            self._sleep(self._max_delay())
            self._waiting.clear()
            try:
                self.flush()
                if self._after_thread_push is not None:
                    self._after_thread_push()
            except Exception:
                logger.exception("%s: pushing a batch failed", self._name)

    def _flush_at_exit(self, pid: int) -> None:
        if pid != os.getpid():
            return  # registered in a parent before the fork; the child has its own buffer
        try:
            pushed = self.flush()
        except Exception:
            logger.exception("%s: pushing the last batch at exit failed", self._name)
            return
        if pushed:
            logger.info("%s: pushed %d items at exit", self._name, pushed)
