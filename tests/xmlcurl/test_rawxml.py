"""Element offsets into the raw text: what lets the endpoint serve a piece as it was rendered."""

from __future__ import annotations

import pytest

from callcenter.xmlcurl.rawxml import XmlShapeError, parse_elements


def test_offsets_cover_each_element_exactly() -> None:
    text = (
        '<include>\n  <a x="1 > 0" y=\'"/>\'/>\n'
        "  <!-- <b> in a comment -->\n"
        '  <b name="é &amp; ü">\n    <c/>\n    text\n  </b >\n</include>\n'
    )
    root = parse_elements(text)
    assert root.tag == "include"
    a, b = root.children
    assert text[a.start : a.end] == '<a x="1 > 0" y=\'"/>\'/>'
    assert a.attrib == {"x": "1 > 0", "y": '"/>'}
    assert a.inner_start == a.inner_end == a.end
    assert text[b.start : b.end] == '<b name="é &amp; ü">\n    <c/>\n    text\n  </b >'
    assert b.attrib["name"] == "é & ü"
    assert text[b.inner_start : b.inner_end] == "\n    <c/>\n    text\n  "
    assert text[b.children[0].start : b.children[0].end] == "<c/>"
    inner = text[root.inner_start : root.inner_end]
    assert inner.startswith("\n  <a ") and inner.endswith("</b >\n")


def test_find_all_does_not_look_inside_what_it_found() -> None:
    root = parse_elements("<r><g><u id='1'><u id='inner'/></u></g><u id='2'/></r>")
    assert [u.attrib["id"] for u in root.find_all("u")] == ["1", "2"]


def test_not_well_formed_is_an_error_with_its_place() -> None:
    with pytest.raises(XmlShapeError, match="line 1"):
        parse_elements("<a><b></a>")
