"""The template environment's escaping, and the checks every rendered file goes through."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

from callcenter.dialplan.environment import (
    TemplateValueError,
    fsdata,
    make_environment,
    regex_literal,
)
from callcenter.dialplan.validate import validate_files


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sales", "Sales"),
        ("Sales ${hangup}", "Sales \\${hangup}"),
        ("$${domain}", "\\$\\${domain}"),
        ("C:\\path", "C:\\\\path"),
    ],
)
def test_fsdata_neutralizes_variable_expansion(value: str, expected: str) -> None:
    assert fsdata(value) == expected


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\x00b"])
def test_line_breaks_never_reach_a_switch(value: str) -> None:
    with pytest.raises(TemplateValueError, match="CR, LF or NUL"):
        fsdata(value)
    with pytest.raises(TemplateValueError):
        regex_literal(value)


@pytest.mark.parametrize("number", ["+74951234567", "8(800)555-35-35", "1.2*3?[x]{2}|y/z\\"])
def test_regex_literal_matches_only_itself(number: str) -> None:
    pattern = re.compile(f"^{regex_literal(number)}$")
    assert pattern.match(number)
    assert not pattern.match(number + "0")
    assert not pattern.match("x" + number)


def test_templates_escape_xml_and_an_override_wins(tmp_path: Path) -> None:
    defaults = make_environment()
    assert defaults.loader is not None
    override = tmp_path / "mine"
    override.mkdir()
    (override / "probe.xml").write_text(
        '<action application="set" data="name={{ name | fsdata }}"/>\n'
    )
    env = make_environment(override)
    text = env.get_template("probe.xml").render(name='A & B <"x"> ${evil}')
    assert text == (
        '<action application="set" data="name=A &amp; B &lt;&#34;x&#34;&gt; \\${evil}"/>\n'
    )
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("probe.xml").render()  # a missing variable is an error, not ""


def test_validation_reports_every_problem_with_file_and_line() -> None:
    good = """<include><context name="acme">
  <extension name="x"><condition field="destination_number" expression="^100$">
    <action application="answer"/><action application="transfer" data="5000 XML acme"/>
  </condition></extension>
</context></include>
"""
    bad = """<include><context name="acme">
  <extension name="y">
    <condition field="destination_number" expression="^(100$">
      <action application="anwser"/>
    </condition>
  </extension>
</context></include>
"""
    broken = "<include><context name='a'>\n<extension>\n</include>\n"
    problems = validate_files({"b/bad.xml": bad, "a/good.xml": good, "c/broken.xml": broken})
    assert [str(p).split(":")[:2] for p in problems] == [
        ["b/bad.xml", "3"],
        ["b/bad.xml", "4"],
        ["c/broken.xml", "3"],
    ]
    assert "does not compile" in problems[0].message
    assert "unknown dialplan application 'anwser'" in problems[1].message
    assert "not well-formed XML: mismatched tag" in problems[2].message
    assert validate_files({"a/good.xml": good}) == []
