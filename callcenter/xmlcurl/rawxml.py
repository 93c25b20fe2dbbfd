"""Elements of an XML text with where each one stands in it, so that a piece can be served as
it was written: no re-serialization, so the escaping the templates chose stays byte for byte.

That matters for FreeSWITCH: mod_xml_curl hands the answer to ``switch_xml_parse_file``, whose
pre-processor expands ``$${var}`` in the raw text before the XML parser runs. The templates
write a ``$`` from the center as ``&#36;`` for that reason (``fsliteral``); parsing and writing
the XML again would turn it back into a ``$``.
"""

from __future__ import annotations

import xml.parsers.expat
from dataclasses import dataclass, field

__all__ = ["Element", "XmlShapeError", "parse_elements"]


class XmlShapeError(ValueError):
    """The text is not well-formed XML (the message has the line and column)."""


@dataclass
class Element:
    """One element: its tag and attributes (as the XML parser reads them) and its place in the
    text: ``text[start:end]`` is the whole element, ``text[inner_start:inner_end]`` what lies
    between its start and end tags (empty for ``<a/>``)."""

    tag: str
    attrib: dict[str, str]
    start: int
    end: int = -1
    inner_start: int = -1
    inner_end: int = -1
    children: list[Element] = field(default_factory=list)

    def find_all(self, tag: str) -> list[Element]:
        """Every element named ``tag`` below this one, not looking inside the ones found."""
        found: list[Element] = []
        for child in self.children:
            if child.tag == tag:
                found.append(child)
            else:
                found.extend(child.find_all(tag))
        return found


def _tag_end(data: bytes, start: int) -> int:
    """Where the tag opening at ``start`` ends (just after its ``>``): the first ``>`` outside
    a quoted attribute value (a value may hold ``>``, never its own quote)."""
    quote = 0
    for index in range(start + 1, len(data)):
        byte = data[index]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in b"\"'":
            quote = byte
        elif byte == ord(">"):
            return index + 1
    raise XmlShapeError(f"unterminated tag at byte {start}")


def parse_elements(text: str) -> Element:
    """The root element of ``text``, its offsets counted in characters of ``text``."""
    data = text.encode("utf-8")
    parser = xml.parsers.expat.ParserCreate()
    stack: list[Element] = []
    roots: list[Element] = []

    def start(tag: str, attrib: dict[str, str]) -> None:
        index = parser.CurrentByteIndex
        element = Element(tag, attrib, index)
        end = _tag_end(data, index)
        element.inner_start = end
        if data[end - 2 : end] == b"/>":  # an empty-element tag: no content, no end tag
            element.end = element.inner_end = end
        if stack:
            stack[-1].children.append(element)
        else:
            roots.append(element)
        stack.append(element)

    def end(tag: str) -> None:
        element = stack.pop()
        if element.end < 0:
            index = parser.CurrentByteIndex  # the "</" of the end tag
            element.inner_end = index
            element.end = data.index(b">", index) + 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise XmlShapeError(str(exc)) from exc
    root = roots[0]
    if not text.isascii():
        _to_characters(root, _characters_before(data))
    return root


def _characters_before(data: bytes) -> list[int]:
    """``[n]``: how many characters the first ``n`` bytes of UTF-8 ``data`` hold (every byte
    but a continuation byte starts one)."""
    counts = [0]
    for byte in data:
        counts.append(counts[-1] + (byte & 0xC0 != 0x80))
    return counts


def _to_characters(element: Element, counts: list[int]) -> None:
    element.start, element.end = counts[element.start], counts[element.end]
    element.inner_start = counts[element.inner_start]
    element.inner_end = counts[element.inner_end]
    for child in element.children:
        _to_characters(child, counts)
