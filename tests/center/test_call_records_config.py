"""The center file's keys for what happens after a call: a queue's disposition codes and
quality rules, a tenant's retention; good values, and bad ones reported at their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.center import load_center
from callcenter.center.tenant import Retention
from tests.center.helpers import TENANT, problems, write

REPO = Path(__file__).resolve().parents[2]


def test_the_example_shows_dispositions_quality_and_retention() -> None:
    center = load_center(REPO / "examples" / "center.yaml")
    acme = center.tenant("acme")
    sales, support = acme.queue("sales"), acme.queue("support")
    assert sales is not None and support is not None
    assert sales.dispositions == ["sale", "no_sale", "callback", "wrong_number"]
    assert sales.quality_rules().answer_within_seconds == 15
    assert support.quality_rules().max_hold_seconds == 90
    assert (acme.retention.recordings_days, acme.retention.cdr_days) == (90, 730)
    globex = center.tenant("globex")
    assert globex.retention == Retention() and not globex.retention.enabled
    assert acme.queue("nope") is None


def test_retention_may_set_either_limit(tmp_path: Path) -> None:
    path = write(tmp_path, TENANT + "    retention: {cdr_days: 365}\n")
    retention = load_center(path).tenant("acme").retention
    assert (retention.recordings_days, retention.cdr_days, retention.enabled) == (None, 365, True)


# TENANT's queue "support" is on line 6; additions start on line 7.
QUEUE = TENANT.replace("    queues: [{name: support}]\n", "    queues:\n      - name: support\n")


@pytest.mark.parametrize(
    ("addition", "expected"),
    [
        (
            "        dispositions: [sale, 'No Sale']\n",
            "8: tenants.0.queues.0.dispositions.1: 'No Sale' is not a disposition code "
            "(a-z, 0-9, _ and -, at most 64 characters)",
        ),
        (
            "        dispositions:\n          - sale\n          - callback\n          - sale\n",
            "11: tenants.0.queues.0.dispositions.2: 'sale' appears twice (also dispositions.0)",
        ),
        (
            "        quality:\n          max_silence_share: 2\n",
            "9: tenants.0.queues.0.quality.max_silence_share: Input should be less than or equal "
            "to 1 (got 2)",
        ),
        (
            "        quality:\n          max_hold_seconds: -5\n",
            "9: tenants.0.queues.0.quality.max_hold_seconds: Input should be greater than or "
            "equal to 0 (got -5)",
        ),
        (
            "        quality:\n          penalties: {silence: ten}\n",
            "9: tenants.0.queues.0.quality.penalties.silence: Input should be a valid integer",
        ),
        (
            "        quality:\n          max_overtalk: 5\n",
            "9: tenants.0.queues.0.quality.max_overtalk: unknown field; "
            "did you mean 'max_overtalk_seconds'?",
        ),
        (
            "        quality:\n          require_disposition: true\n",
            "9: tenants.0.queues.0.quality.require_disposition: the queue has no dispositions "
            "to require (list them in dispositions)",
        ),
        (
            "        service_level_seconds: 30\n        quality:\n          max_wait_seconds: 25\n",
            "10: tenants.0.queues.0.quality.max_wait_seconds: 25 s is shorter than the answer "
            "limit of 30 s (answer_within_seconds, else the queue's service_level_seconds)",
        ),
    ],
)
def test_bad_queue_keys_name_file_line_and_field(
    tmp_path: Path, addition: str, expected: str
) -> None:
    path = write(tmp_path, QUEUE + addition)
    found = problems(path)
    assert any(p.startswith(f"{path}:{expected}") for p in found), found


@pytest.mark.parametrize(
    ("addition", "expected"),
    [
        (
            "    retention:\n      recordings_days: 0\n",
            "8: tenants.0.retention.recordings_days: Input should be greater than or equal to 1 "
            "(got 0)",
        ),
        (
            "    retention:\n      cdr_days: forever\n",
            "8: tenants.0.retention.cdr_days: Input should be a valid integer",
        ),
        (
            "    retention:\n      cdr_days: 36501\n",
            "8: tenants.0.retention.cdr_days: Input should be less than or equal to 36500",
        ),
        (
            "    retention:\n      recordings_days: 400\n      cdr_days: 365\n",
            "8: tenants.0.retention.recordings_days: 400 days is longer than cdr_days (365): a "
            "recording would outlive its call's record",
        ),
        (
            "    retention:\n      recording_days: 30\n",
            "8: tenants.0.retention.recording_days: unknown field; did you mean 'recordings_days'?",
        ),
        ("    retention: 30\n", "7: tenants.0.retention: Input should be a valid dictionary"),
    ],
)
def test_bad_retention_names_file_line_and_field(
    tmp_path: Path, addition: str, expected: str
) -> None:
    path = write(tmp_path, TENANT + addition)
    found = problems(path)
    assert any(p.startswith(f"{path}:{expected}") for p in found), found
