"""The screen-pop URL: the call's values filled in, URL-encoded; none without a template."""

from __future__ import annotations

from callcenter.crm import CrmConfig, screen_pop_url


def config(template: str) -> CrmConfig:
    return CrmConfig.model_validate({"screen_pop_url": template})


def test_values_are_filled_in_url_encoded() -> None:
    crm = config("https://crm.example.com/contacts?phone={caller}&call={call}&q={queue}#a={agent}")
    url = screen_pop_url(
        crm, caller="+7 916 123&x=1", call="c-1/2", queue="sales support", agent="1000"
    )
    assert url == (
        "https://crm.example.com/contacts?phone=%2B7%20916%20123%26x%3D1&call=c-1%2F2"
        "&q=sales%20support#a=1000"
    )


def test_a_value_never_adds_a_path_segment_or_a_line() -> None:
    crm = config("https://crm.example.com/calls/{call}/pop")
    url = screen_pop_url(crm, caller="1", call="../../admin\r\nX: y")
    assert url == "https://crm.example.com/calls/..%2F..%2Fadmin%0D%0AX%3A%20y/pop"


def test_unknown_values_are_empty_and_literal_braces_stay() -> None:
    crm = config("https://crm.example.com/?did={did}&x={{literal}}")
    assert screen_pop_url(crm, caller="1", call="c") == "https://crm.example.com/?did=&x={literal}"


def test_no_template_no_url() -> None:
    assert screen_pop_url(None, caller="1", call="c") is None
    assert screen_pop_url(CrmConfig(), caller="1", call="c") is None
