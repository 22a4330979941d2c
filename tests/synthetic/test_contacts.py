import numpy as np
import pytest

from tiercast.synthetic import codes as c
from tiercast.synthetic.contacts import MS_PER_DAY, month_contacts

from .lines import WINDOW, established_lines


@pytest.fixture(scope="module")
def month(generator_settings):
    """One month of contacts of 4,000 lines, half of them intending to leave; odd lines opted out of calls."""
    rng = np.random.default_rng(5)
    pop, _ = established_lines(rng, generator_settings, 4000, days_before=100)
    pop.satisfaction[:] = np.where(np.arange(4000) < 2000, 0, 2)
    pop.do_not_contact[:] = np.arange(4000) % 2 == 1
    idx = np.arange(4000)
    start = np.full(4000, WINDOW.start(0), dtype=np.int64)
    stop = np.full(4000, WINDOW.end(0) + 1, dtype=np.int64)
    stop[:100] = WINDOW.start(0) + 10  # these left on the 11th
    none = np.zeros(4000, bool)
    return month_contacts(rng, pop, idx, start, stop, none, none, generator_settings), start, stop


def test_contacts_fall_within_each_line_active_days(month) -> None:
    contacts, start, stop = month
    day = contacts.time_ms // MS_PER_DAY
    assert (day >= start[contacts.line]).all() and (day < stop[contacts.line]).all()
    assert (np.diff(contacts.time_ms) >= 0).all()  # ordered by time


def test_voice_calls_leave_unqueued_and_other_channels_never_wait(month) -> None:
    contacts, _, _ = month
    voice = contacts.channel == c.VOICE
    assert voice.sum() > 500 and (~voice).sum() > 500
    assert not contacts.abandoned.any() and (contacts.wait_seconds == 0).all()
    assert (contacts.agent_group == c.NO_CODE).all()
    assert (contacts.handle_seconds[voice] > 0).all()  # answer_calls sets it to 0 for callers who hang up


def test_first_contacts_follow_the_weekly_and_daily_profile(month, generator_settings) -> None:
    contacts, _, _ = month
    inbound = contacts.channel != c.OUTBOUND
    day = contacts.time_ms[inbound] // MS_PER_DAY
    hour = (contacts.time_ms[inbound] % MS_PER_DAY) // 3_600_000
    per_weekday = np.bincount((day + 3) % 7, minlength=7) / np.bincount(
        (np.arange(WINDOW.start(0), WINDOW.end(0) + 1) + 3) % 7, minlength=7
    )
    assert per_weekday[0] > 1.3 * per_weekday[6]  # Mondays busier than Sundays (weights 1.25 vs 0.7)
    assert np.isin(hour, [10, 11]).sum() > 10 * np.isin(hour, [3, 4]).sum()


def test_leaving_lines_complain_and_announce_it(month) -> None:
    contacts, _, _ = month
    leaving = contacts.line >= 2000
    for reason in (c.COMPLAINT, c.CANCEL_INTENT):
        assert ((contacts.reason == reason) & leaving).sum() > 5 * ((contacts.reason == reason) & ~leaving).sum()


def test_retention_calls_are_outbound_and_respect_do_not_contact(month) -> None:
    contacts, _, _ = month
    calls = contacts.reason == c.RETENTION_CALL
    assert calls.sum() > 50
    assert (contacts.channel[calls] == c.OUTBOUND).all() and (contacts.channel[~calls] != c.OUTBOUND).all()
    assert (contacts.line[calls] % 2 == 0).all()
