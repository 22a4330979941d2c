"""The generator's ACD on hand-built calls: caller classes, staffing, and the queue's exact outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from models.erlang import agents_for_service_level
from tiercast.settings.generator import ContactSettings, VoiceQueueSettings
from tiercast.synthetic import codes as c
from tiercast.synthetic.call_queue import (
    BLACK,
    HIGH,
    LOW,
    MID,
    RED,
    _lanes,
    answer_calls,
    caller_classes,
    erlang_c_agents,
)
from tiercast.synthetic.contacts import MS_PER_DAY, Contacts, weekday_weights

DAY = 20_393  # a Saturday in November 2025
STORE = c.CHANNELS.index("store")
VIP, RETENTION, STANDARD = 0, 1, 2  # the settings' group order


def test_caller_classes_rank_listed_lines_by_value_and_lists_win(generator_settings) -> None:
    # given 10 listed lines (20% high = 2, next 30% mid = 3) and a former subscriber worth the most
    value = np.array([50, 300, 120, 10, 80, 500, 30, 60, 200, 5, 1000], dtype=float)
    flags = np.array([-1, -1, c.RED, c.BLACK, -1, -1, -1, -1, -1, -1, -1], dtype=np.int8)
    listed = np.arange(11) < 10
    classes = caller_classes(value, flags, listed, generator_settings.contacts.voice_queue)
    assert classes.tolist() == [LOW, HIGH, RED, BLACK, MID, HIGH, LOW, LOW, MID, LOW, LOW]


@pytest.mark.parametrize("target", [0.5, 0.85, 0.9])
def test_staffing_agrees_with_the_erlang_c_of_models(target: float) -> None:
    loads = np.array([0.0, 0.3, 2.5, 10.0, 47.2])
    got = erlang_c_agents(loads, 240.0, np.full(5, target), 20.0, least=1)
    assert got.tolist() == [agents_for_service_level(float(a), 240.0, target, 20.0) for a in loads]


def test_weekday_weights_follow_the_calendar(generator_settings) -> None:
    weights = generator_settings.contacts.weekday_weights
    days = np.array([0, 4, 5, 10])  # 1970-01-01 Thursday, Monday 5th, Tuesday 6th, Sunday 11th
    assert weekday_weights(days, generator_settings.contacts).tolist() == [
        weights["thu"], weights["mon"], weights["tue"], weights["sun"]
    ]  # fmt: skip


@pytest.mark.parametrize(("calls", "lanes"), [(120_000, 30), (30_000, 8), (3_000, 1)])
def test_scarce_calls_fold_days_onto_fewer_simulated_days(calls: int, lanes: int) -> None:
    assert _lanes(calls, 30, 4000) == lanes


def hand_built() -> tuple[Contacts, np.ndarray]:
    """At 10:00 a low-tier call takes the one standard agent for 100 s; black, low and mid callers queue behind
    it (1, 2, 3 s later); a high-tier call and a red-list cancel intent arrive; a store visit is not queued."""
    classes = np.array([HIGH, MID, LOW, BLACK, LOW, MID, RED], dtype=np.int8)
    line = np.array([4, 3, 2, 1, 0, 6, 5])
    seconds = np.array([0, 1, 2, 3, 4, 5, 6])
    n = len(line)
    contacts = Contacts(
        line=line,
        time_ms=DAY * MS_PER_DAY + 36_000_000 + seconds * 1000,
        channel=np.array([c.VOICE] * 6 + [STORE], dtype=np.int8),
        reason=np.array([c.INQUIRY] * 5 + [c.CANCEL_INTENT, c.INQUIRY], dtype=np.int8),
        resolved=np.ones(n, dtype=bool),
        wait_seconds=np.zeros(n),
        handle_seconds=np.array([100.0, 50.0, 60.0, 70.0, 80.0, 90.0, 300.0]),
        abandoned=np.zeros(n, dtype=bool),
        agent_group=np.full(n, c.NO_CODE, dtype=np.int8),
    )
    return contacts, classes


def patient(settings, mean_seconds: float):
    """The contact settings with callers of this mean patience."""
    queue = settings.contacts.voice_queue.model_copy(update={"patience_mean_seconds": mean_seconds})
    return settings.contacts.model_copy(update={"voice_queue": queue})


def test_the_queue_serves_by_priority_and_routes_by_class(generator_settings) -> None:
    contacts, classes = hand_built()
    rng = np.random.default_rng(0)
    got = answer_calls(rng, contacts, classes, DAY, 30, patient(generator_settings, 1e9))
    # standard agent: the first low call 0-100 s, then mid (waited 97 s) to 170, low (168 s) to 230, black (229 s)
    assert got.wait_seconds.tolist() == [0.0, 229.0, 168.0, 97.0, 0.0, 0.0, 0.0]
    assert got.agent_group.tolist() == [STANDARD, STANDARD, STANDARD, STANDARD, VIP, RETENTION, c.NO_CODE]
    assert not got.abandoned.any() and got.resolved.all()
    assert got.handle_seconds.tolist() == contacts.handle_seconds.tolist()


def test_callers_who_hang_up_are_abandoned_unresolved_with_no_agent(generator_settings) -> None:
    contacts, classes = hand_built()
    rng = np.random.default_rng(0)
    got = answer_calls(rng, contacts, classes, DAY, 30, patient(generator_settings, 1e-3))
    assert got.abandoned.tolist() == [False, True, True, True, False, False, False]
    assert got.agent_group.tolist() == [STANDARD, c.NO_CODE, c.NO_CODE, c.NO_CODE, VIP, RETENTION, c.NO_CODE]
    assert got.handle_seconds.tolist() == [100.0, 0.0, 0.0, 0.0, 80.0, 90.0, 300.0]
    assert got.resolved.tolist() == [True, False, False, False, True, True, True]
    assert (got.wait_seconds[1:4] == 0.0).all()  # hung up within a millisecond


def test_a_month_without_voice_calls_is_returned_as_it_is(generator_settings) -> None:
    contacts, classes = hand_built()
    chat_only = contacts.rows(contacts.channel != c.VOICE)
    got = answer_calls(np.random.default_rng(0), chat_only, classes, DAY, 30, generator_settings.contacts)
    assert got is chat_only


def test_settings_refuse_a_route_to_an_unknown_agent_group(generator_settings) -> None:
    queue = generator_settings.contacts.voice_queue.model_dump()
    queue["routes"]["mid"]["group"] = "data_desk"
    with pytest.raises(ValueError, match="unknown agent groups \\['data_desk'\\]"):
        VoiceQueueSettings.model_validate(queue)


def test_settings_refuse_an_arrival_profile_of_zeros(generator_settings) -> None:
    contacts = generator_settings.contacts.model_dump()
    contacts["hour_weights"] = [0.0] * 24
    with pytest.raises(ValueError, match="must not be all 0"):
        ContactSettings.model_validate(contacts)
