"""Every CRM example in ``examples/crm/`` loads through the real center loader, with the parts
the docs promise (webhooks, a lookup, a screen-pop)."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.center import load_center
from callcenter.crm import screen_pop_url
from callcenter.crm.urls import fill

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "crm"


def test_there_is_an_example_per_product() -> None:
    names = {path.stem for path in EXAMPLES.glob("*.yaml")}
    assert names == {"1c", "zoho", "sugarcrm", "creatio"}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_example_loads(path: Path) -> None:
    (tenant,) = load_center(path).tenants
    crm = tenant.crm
    assert crm is not None and crm.webhooks and crm.lookup is not None
    url = screen_pop_url(crm, caller="+79161234567", call="c1", agent="1000")
    assert url is not None and "%2B79161234567" in url
    lookup = fill(crm.lookup.url, {"caller": "+79161234567"})
    assert lookup.startswith("https://") and "{caller}" not in lookup
