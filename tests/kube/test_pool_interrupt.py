"""Ctrl-C landing inside urllib3's pool queue lock (kube/live._SigintAfterQueueCalls).

CPython can raise KeyboardInterrupt just after a lock's ``__enter__`` has taken the lock
and before the ``with`` block is entered; the lock then stays taken, and the pool's
finalizer (``_close_pool_connections``, at the next garbage collection or at exit) waits for
it forever. This was seen once: an interrupted ``inspect8s`` that never ended, its main
thread in ``Queue.get`` under that finalizer. Here the queue's lock is one that a real
SIGINT interrupts at exactly that point, every time."""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from typing import Any

import pytest

from inspect8s.kube.live import _watched_pool_classes, sigint_noted


class InterruptedTaking:
    """A lock whose first ``with`` is interrupted by a real SIGINT once it holds the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.armed = False

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> InterruptedTaking:
        self._lock.acquire()
        if self.armed:
            self.armed = False
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # its handler has run by the end of this call at the latest
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def _racy_queue(idle: bool = True) -> queue.LifoQueue[Any]:
    q: queue.LifoQueue[Any] = queue.LifoQueue(1)
    lock = InterruptedTaking()
    q.mutex = lock  # type: ignore[assignment]
    q.not_empty = threading.Condition(lock)  # type: ignore[arg-type]
    q.not_full = threading.Condition(lock)  # type: ignore[arg-type]
    q.all_tasks_done = threading.Condition(lock)  # type: ignore[arg-type]
    if idle:
        q.put(None)  # an idle slot, as urllib3 fills its pool
    lock.armed = True
    return q


def _closes_within(pool: Any, seconds: float) -> bool:
    done = threading.Event()
    threading.Thread(target=lambda: (pool.close(), done.set()), daemon=True).start()
    return done.wait(seconds)


def test_plain_urllib3_pool_keeps_the_lock_taken() -> None:
    """The premise: without the fix, the interrupted lock stays taken."""
    from urllib3.connectionpool import HTTPConnectionPool

    pool = HTTPConnectionPool("127.0.0.1", 9, maxsize=1)
    pool.pool = _racy_queue()
    with pytest.raises(KeyboardInterrupt):
        pool._get_conn()
    assert pool.pool.mutex.locked()
    pool.pool.mutex.release()  # so that this test's own pool can be finalized


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("call", ["_get_conn", "_put_conn", "close"])
def test_ctrl_c_in_a_queue_call_takes_effect_after_it(scheme: str, call: str) -> None:
    pool = _watched_pool_classes()[scheme]("127.0.0.1", 9, maxsize=1)
    racy = pool.pool = _racy_queue(idle=call != "_put_conn")  # room to put one back
    with pytest.raises(KeyboardInterrupt):
        getattr(pool, call)(*([None] if call == "_put_conn" else []))
    assert not racy.mutex.locked()  # the call ended normally, then Ctrl-C took effect
    assert _closes_within(pool, 10)


def test_sigint_noted_outside_the_main_thread_changes_nothing() -> None:
    seen: list[bool] = []

    def worker() -> None:
        with sigint_noted() as noted:
            seen.append(noted.is_set())

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert seen == [False] and signal.getsignal(signal.SIGINT) is before
