"""The run summary's stage profile: kept in the JSON, shown as a short table in the Markdown."""

from __future__ import annotations

from pipelines.run_summary import NightlySummary

PROFILE = {
    "wall_s": 20.0,
    "steps_s": {"stage": 3.0, "validate": 0.5},
    "shards_s": {"validate": 6.0, "features": 1.25},
    "shard_steps_wall_s": {"shard-features": 5.0},
    "shard_steps_summed_s": {"shard-features": 7.25},
    "unaccounted_s": 11.5,
}


def summary(profile: dict[str, object]) -> NightlySummary:
    return NightlySummary(
        as_of="2026-09-30",
        run_id="r",
        model_version="1",
        model_run="run",
        shards=2,
        validation={},
        tier_stage={},
        score_histogram=[1],
        retention={},
        outputs={},
        publication={},
        profile=profile,
    )


def test_the_profile_is_a_table_of_stages_then_the_shard_walls_and_the_remainder() -> None:
    markdown = summary(PROFILE).to_markdown()
    table = markdown.split("## Where the time went (seconds)\n\n")[1].split("\n\n")[0].splitlines()
    assert table == [
        "| stage | in steps | summed over 2 shard(s) |",
        "|---|---:|---:|",
        "| stage | 3.00 |  |",
        "| validate | 0.50 | 6.00 |",
        "| features |  | 1.25 |",
        "| shard-features (wall; shards' work 7.25) | 5.00 | |",
        "| not in any stage (task overhead, waits) | 11.50 | |",
        "| **run wall time** | **20.00** | |",
    ]
    assert summary(PROFILE).to_json()["profile"] == PROFILE


def test_a_summary_without_a_profile_has_no_time_section() -> None:
    assert "Where the time went" not in summary({}).to_markdown()
