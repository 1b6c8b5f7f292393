"""``kit.collector.paused``: the bulk loads' pause of Python's cyclic garbage
collector, which must always give the collector back as it found it, whichever thread ends
last."""

from __future__ import annotations

import gc
import importlib
import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from oppflow.api import app as app_module
from oppflow.api.app import served_app
from oppflow.cli import SERVED_APP
from oppflow.kit import collector
from oppflow.kit.collector import SERVING_THRESHOLD, paused, tuned_for_serving


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
    with paused():
        assert not gc.isenabled()
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_the_collector_comes_back_after_an_error() -> None:
    with pytest.raises(RuntimeError), paused():
        raise RuntimeError("the batch failed")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with paused():
        pass
    assert not gc.isenabled()


def test_the_last_thread_to_end_its_pause_brings_the_collector_back() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def second() -> None:
        assert first_in.wait(timeout=10)
        with paused():
            second_in.set()
            assert first_out.wait(timeout=10)
            seen.append(gc.isenabled())  # the first thread's pause has ended, not this one

    thread = threading.Thread(target=second)
    thread.start()
    with paused():
        first_in.set()
        assert second_in.wait(timeout=10)
    first_out.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert seen == [False]
    assert gc.isenabled()


def test_serving_sets_aside_what_exists_and_collects_the_young_less_often() -> None:
    threshold = gc.get_threshold()
    gc.unfreeze()  # the suite froze what collection built (tests/conftest.py)
    assert gc.get_freeze_count() == 0
    try:
        tuned_for_serving()
        assert gc.get_threshold() == (SERVING_THRESHOLD, *threshold[1:])
        assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
        gc.freeze()  # as the suite had it: everything alive now, set aside


def test_oppflow_serve_runs_the_tuned_application(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    built = FastAPI()

    def create_app() -> FastAPI:
        calls.append("built")
        return built

    monkeypatch.setattr(app_module, "create_app", create_app)
    monkeypatch.setattr(collector, "tuned_for_serving", lambda: calls.append("tuned"))
    assert served_app() is built
    assert calls == ["built", "tuned"]
    module, name = SERVED_APP.split(":")
    assert getattr(importlib.import_module(module), name) is served_app
