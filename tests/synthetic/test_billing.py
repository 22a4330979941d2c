import numpy as np
import pytest

from tiercast.synthetic.behaviour import Usage
from tiercast.synthetic.billing import bill_columns

from .lines import established_lines


@pytest.fixture
def three_lines(generator_settings):
    """Three non-roaming prepaid_19 lines, 10% long distance; line 2 has a 10 CNY value-added pack."""
    pop, catalog = established_lines(np.random.default_rng(1), generator_settings, 3, days_before=400)
    pop.plan[:] = catalog.plans.index("prepaid_19")
    pop.long_distance_share[:] = 0.1
    pop.roaming_p[:] = 0.0
    pop.value_added_fee[:] = [0.0, 0.0, 10.0]
    return pop, catalog


def test_bill_is_fee_plus_charges_and_parts_stay_within_amount(generator_settings, three_lines) -> None:
    pop, catalog = three_lines
    usage = Usage(
        voice_minutes=np.array([100.0, 100.0, 50.0]),
        data_mb=np.array([2048.0, 500.0, 512.0]),
        sms_count=np.array([40, 0, 0]),
    )
    fraction = np.array([1.0, 1.0, 0.5])
    bill = bill_columns(np.random.default_rng(0), pop, np.arange(3), fraction, usage, generator_settings, catalog)
    # prepaid_19: 1024 MB included, 0.005 CNY/MB beyond, long distance 0.08 CNY/min, 30 free SMS then 0.1
    assert bill["base_fee"].tolist() == [19.0, 19.0, 9.5]
    assert bill["data_amount"].tolist() == [5.12, 0.0, 0.0]
    assert bill["long_distance_amount"].tolist() == [0.8, 0.8, 0.4]
    assert bill["value_added_amount"].tolist() == [0.0, 0.0, 5.0]
    assert bill["roaming_amount"].tolist() == [0.0, 0.0, 0.0]
    assert bill["amount"].tolist() == [25.92, 19.8, 14.9]
