"""One nightly run per date, and no scratch (raw phone numbers) outliving a run, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import run_lock
from pipelines.run_lock import RunInProgressError, clear_abandoned, exclusive_run


def scratch_with_numbers(folder: Path) -> Path:
    (folder / "inputs").mkdir(parents=True)
    (folder / "inputs" / "keys.csv").write_text("subscriber_id,msisdn\n1,13800000001\n")
    return folder


def test_the_scratch_is_removed_when_the_run_fails(tmp_path: Path) -> None:
    scratch = tmp_path / "nightly" / "2026-10-31"

    with pytest.raises(RuntimeError, match="injected"), exclusive_run(scratch):
        scratch_with_numbers(scratch)
        raise RuntimeError("injected")

    assert not scratch.exists()


def test_a_second_run_for_the_same_date_refuses_and_leaves_the_first_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_lock, "WAIT_SECONDS", 0.2)
    scratch = tmp_path / "nightly" / "2026-10-31"

    with exclusive_run(scratch):
        scratch_with_numbers(scratch)
        busy = pytest.raises(RunInProgressError, match=r"another nightly run as of 2026-10-31 is in progress \(pid ")
        with busy, exclusive_run(scratch):
            pass
        assert (scratch / "inputs" / "keys.csv").is_file()


def test_scratch_of_a_killed_run_is_removed_by_the_next_run_but_a_running_one_is_kept(tmp_path: Path) -> None:
    nightly = tmp_path / "nightly"
    killed, running = nightly / "2026-10-30", nightly / "2026-10-29"
    holder = (  # a run: takes its date's lock, stages inputs (phone numbers), works
        "import sys, time; from pathlib import Path; from pipelines.run_lock import exclusive_run\n"
        "from tests.pipelines.test_run_lock import scratch_with_numbers\n"
        "with exclusive_run(Path(sys.argv[1])):\n"
        "    scratch_with_numbers(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)\n"
    )
    procs = {}
    try:
        for name, path in (("running", running), ("killed", killed)):
            proc = subprocess.Popen([sys.executable, "-c", holder, str(path)], stdout=subprocess.PIPE, text=True)
            procs[name] = proc
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "held"
        os.kill(procs["killed"].pid, signal.SIGKILL)  # kill -9: no cleanup code runs
        procs["killed"].wait(timeout=10)
        assert killed.exists()

        with exclusive_run(nightly / "2026-10-31"):
            assert not killed.exists()  # its lock died with it
            assert (running / "inputs" / "keys.csv").is_file()  # still locked by a live run
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait(timeout=10)


def test_clear_abandoned_without_a_work_folder_yet(tmp_path: Path) -> None:
    assert clear_abandoned(tmp_path / "nothing-yet") == []
