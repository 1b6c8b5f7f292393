"""``demo.loader.collections_paused``: the bulk loads' pause of Python's cyclic garbage
collector, which must always give the collector back as it found it, whichever thread ends
last."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from oppflow.demo.loader import collections_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_off_within_and_back_after() -> None:
    with collections_paused():
        assert not gc.isenabled()
        with collections_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_the_collector_comes_back_after_an_error() -> None:
    with pytest.raises(RuntimeError), collections_paused():
        raise RuntimeError("the batch failed")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collections_paused():
        pass
    assert not gc.isenabled()


def test_the_last_thread_to_end_its_pause_brings_the_collector_back() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def second() -> None:
        first_in.wait()
        with collections_paused():
            second_in.set()
            first_out.wait()
            seen.append(gc.isenabled())  # the first thread's pause has ended, not this one

    thread = threading.Thread(target=second)
    thread.start()
    with collections_paused():
        first_in.set()
        second_in.wait()
    first_out.set()
    thread.join()
    assert seen == [False]
    assert gc.isenabled()
