"""The ACD part of the center's configuration file, with good and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.acd.config import AcdConfigError, load_acd_config
from callcenter.acd.model import AgentStatus, Strategy
from callcenter.acd.store import AcdStore

REPO = Path(__file__).resolve().parents[2]


async def test_example_center_loads_and_applies(store: AcdStore) -> None:
    # The example is a two-tenant center: the ACD part is one tenant's.
    config = load_acd_config(REPO / "examples" / "center.yaml", tenant="acme")
    assert config.tenant == "acme"
    assert {q.name: q.strategy for q in config.queues} == {
        "support": Strategy.LONGEST_IDLE,
        "sales": Strategy.RING_ALL,
    }
    await config.apply(store)
    await store.login("1000")
    await config.apply(store)  # a reload logs nobody out
    assert await store.status("1000") is AgentStatus.ON_BREAK
    assert (await store.queue_config("support")).wrap_up_seconds == 5
    agent = await store.agent("1002")
    assert (agent["busy_delay_ms"], agent["reject_delay_ms"]) == ("30000", "10000")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("queues: [{name: q, strategy: fastest}]", "queues.0.strategy"),
        ("agents: [{id: a}]", "agents.0.contact"),
        ("agents: [{id: a, contact: 'user/a x'}]", "agents.0.contact"),
        ("agents: [{id: a, contact: user/a, busy_delay_seconds: -1}]", "agents.0.busy_delay"),
        ("queues: [{name: q, ring_progressively_delay_seconds: 0}]", "queues.0.ring_progr"),
        ("queues: [{name: q, max_wait_no_agent_seconds: 5}]", "needed with max_wait_no_agent"),
        ("tiers: [{queue: nope, agent: a}]", "no queue 'nope'"),
        ("queues: [{name: q}, {name: q}]", "a name appears twice"),
        ("bogus: 1\nqueues: [{name: q, colour: red}]", "queues.0.colour"),
        ("[1, 2]", "expected a mapping"),
        ("queues: [", "not valid YAML"),
    ],
)
def test_bad_files_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "center.yaml"
    path.write_text(text)
    with pytest.raises(AcdConfigError) as info:
        load_acd_config(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AcdConfigError, match="file not found"):
        load_acd_config(tmp_path / "none.yaml")


def test_overflow_and_exit_key_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("queues: [{name: q, max_wait_seconds: 30, overflow: 'queue:nope'}]")
    with pytest.raises(AcdConfigError, match="no queue 'nope'"):
        load_acd_config(path)
    path.write_text("queues: [{name: q, max_wait_seconds: 30}]")
    with pytest.raises(AcdConfigError, match="needed with max_wait_seconds"):
        load_acd_config(path)
    path.write_text("queues: [{name: q, exit_key: '12'}]")
    with pytest.raises(AcdConfigError, match=r"queues\.0\.exit_key"):
        load_acd_config(path)
    path.write_text(
        "queues: [{name: q, max_wait_seconds: 30, overflow: 'extension:5000@default',"
        " exit_key: '1'}]"
    )
    assert load_acd_config(path).queues[0].exit_key == "1"


def test_a_center_of_several_tenants_needs_one_named(tmp_path: Path) -> None:
    example = REPO / "examples" / "center.yaml"
    with pytest.raises(AcdConfigError) as info:
        load_acd_config(example)
    assert "holds several tenants (acme, globex): choose one" in str(info.value)
    with pytest.raises(AcdConfigError, match=r"no tenant 'nope' \(tenants: acme, globex\)"):
        load_acd_config(example, tenant="nope")
    globex = load_acd_config(example, tenant="globex")
    assert (globex.tenant, [q.name for q in globex.queues]) == ("globex", ["support"])


def test_a_center_with_one_tenant_needs_no_name(tmp_path: Path) -> None:
    path = tmp_path / "center.yaml"
    path.write_text(
        "tenants:\n  - name: solo\n    domain: solo.example.com\n    queues: [{name: q}]\n"
    )
    assert load_acd_config(path).tenant == "solo"
    # A center file is checked whole, with file:line: field in each problem.
    path.write_text(
        path.read_text() + "    dids: [{number: '+74951234567', destination: 'queue:x'}]\n"
    )
    with pytest.raises(AcdConfigError) as info:
        load_acd_config(path)
    assert f"{path}:5: tenants.0.dids.0.destination: no queue 'x' in tenant 'solo'" in str(
        info.value
    )


def test_the_single_tenant_form_checks_a_named_tenant(tmp_path: Path) -> None:
    path = tmp_path / "center.yaml"
    path.write_text("tenant: office\nqueues: [{name: q}]\n")
    assert load_acd_config(path, tenant="office").tenant == "office"
    with pytest.raises(AcdConfigError, match="holds tenant 'office' only, not 'other'"):
        load_acd_config(path, tenant="other")


def test_dispositions_and_quality_rules_of_a_queue(tmp_path: Path) -> None:
    path = tmp_path / "center.yaml"
    path.write_text(
        "queues:\n"
        "  - name: sales\n"
        "    service_level_seconds: 30\n"
        "    dispositions: [sale, no_sale, call-back]\n"
        "    quality: {max_hold_seconds: 45, penalties: {long_hold: 25}}\n"
        "  - name: support\n"
    )
    sales, support = load_acd_config(path).queues
    assert sales.dispositions == ["sale", "no_sale", "call-back"]
    rules = sales.quality_rules()
    # The answer limit is the service level unless set; a disposition is required where the
    # queue has codes.
    assert (rules.answer_within_seconds, rules.max_hold_seconds) == (30, 45)
    assert (rules.penalties.long_hold, rules.penalties.slow_answer) == (25, 10)
    assert rules.require_disposition is True
    assert support.dispositions == []
    assert support.quality_rules().require_disposition is False
    assert support.quality_rules().answer_within_seconds == 20


async def test_dispositions_and_rules_stay_out_of_redis(store: AcdStore, tmp_path: Path) -> None:
    path = tmp_path / "center.yaml"
    path.write_text("queues: [{name: q, dispositions: [a], quality: {max_wait_seconds: 90}}]\n")
    await load_acd_config(path).apply(store)
    assert (await store.queue_config("q")).name == "q"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "dispositions: [Sale]",
            "queues.0.dispositions.0: Value error, 'Sale' is not a disposition",
        ),
        ("dispositions: ['']", "'' is not a disposition code"),
        (f"dispositions: [{'x' * 65}]", "at most 64 characters"),
        (
            "dispositions: [a, b, a]",
            "queues.0.dispositions.2: 'a' appears twice (also dispositions.0)",
        ),
        ("dispositions: sale", "queues.0.dispositions: Input should be a valid list"),
        ("quality: {max_silence_share: 1.5}", "queues.0.quality.max_silence_share"),
        ("quality: {answer_within_seconds: 0}", "queues.0.quality.answer_within_seconds"),
        ("quality: {penalties: {overtalk: 101}}", "queues.0.quality.penalties.overtalk"),
        ("quality: {penalties: {abrupt: 5}}", "queues.0.quality.penalties.abrupt: Extra inputs"),
        ("quality: {require_disposition: true}", "the queue has no dispositions to require"),
        (
            "quality: {max_wait_seconds: 10}",
            "queues.0.quality.max_wait_seconds: 10 s is shorter than the answer limit of 20 s",
        ),
        (
            "quality: {answer_within_seconds: 90, max_wait_seconds: 60}",
            "60 s is shorter than the answer limit of 90 s",
        ),
    ],
)
def test_bad_dispositions_and_rules_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "center.yaml"
    path.write_text(f"queues:\n  - name: q\n    {text}\n")
    with pytest.raises(AcdConfigError) as info:
        load_acd_config(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_a_long_service_level_needs_no_quality_block(tmp_path: Path) -> None:
    # The default max_wait_seconds (120) is below this service level: only a limit the file
    # sets is checked against it.
    path = tmp_path / "center.yaml"
    path.write_text("queues: [{name: q, service_level_seconds: 300}]\n")
    rules = load_acd_config(path).queues[0].quality_rules()
    assert (rules.answer_within_seconds, rules.max_wait_seconds) == (300, 120)
