"""Text from outside (crawled posts, the public 签收 page) made safe for documents and messages.

Three rules, one home:

- :func:`xml_safe`: XML 1.0 cannot hold most C0 control characters, lone surrogates or
  U+FFFE/U+FFFF. python-docx refuses them with a ValueError, so one ESC in a note used to make
  ``report.docx`` a 500. Every document writer passes its record through :func:`xml_safe_record`.
- :func:`clean_note`: a note typed on a public page keeps its words and line breaks and loses
  control and bidirectional-override characters (which can make a note read backwards).
- :func:`plain`: crawled text placed into a Markdown-ish message (e-mail text part, WeCom,
  DingTalk) must never become markup: the characters Markdown builds links, emphasis and HTML
  from are replaced by their full-width forms, which read the same in Chinese text.
  :func:`link_target` keeps a source URL from breaking out of its ``(...)``.
"""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any, TypeVar, cast
from urllib.parse import quote

T = TypeVar("T")

# Lone surrogate halves (a JSON "\\ud800"): not encodable as UTF-8, so jieba-rs, the hashing
# vectoriser and PostgreSQL refuse them.
_SURROGATES = re.compile("[\ud800-\udfff]")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# C0/C1 controls except tab and newline, DEL, and the bidi embedding/override/isolate marks.
_NOTE_STRIP = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff\ud800-\udfff]")
_MARKUP = str.maketrans({"[": "［", "]": "］", "(": "（", ")": "）", "*": "＊", "_": "＿", "`": "｀",
                         "<": "＜", ">": "＞", "#": "＃", "~": "～", "|": "｜", "!": "！", "\\": "＼"})


def encodable(text: str) -> str:
    """``text`` with lone surrogate halves as U+FFFD, so it can be encoded as UTF-8."""
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


def xml_safe(text: str) -> str:
    """``text`` without the characters an XML document cannot hold."""
    return _XML_INVALID.sub("", text)


def safe_document(doc: T) -> T:
    """A python-docx ``Document`` whose ``add_paragraph``/``add_heading`` drop XML-invalid characters.

    One line for a writer (``doc = safe_document(Document())``) instead of a call at every
    paragraph; text set on runs and cells directly still goes through :func:`xml_safe`.
    """
    add_paragraph, add_heading = doc.add_paragraph, doc.add_heading  # type: ignore[attr-defined]

    def paragraph(text: str = "", style: Any = None) -> Any:
        return add_paragraph(xml_safe(str(text)), style)

    def heading(text: str = "", level: int = 1) -> Any:
        return add_heading(xml_safe(str(text)), level)

    doc.add_paragraph = paragraph  # type: ignore[attr-defined]
    doc.add_heading = heading  # type: ignore[attr-defined]
    return doc


def xml_safe_record(value: T) -> T:
    """A copy of a record (dataclasses, lists, tuples, dicts of them) with every string xml-safe."""
    return cast(T, _clean(value))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return xml_safe(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _clean(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_clean(v) for v in value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def clean_note(text: str, limit: int) -> str:
    """A note from a form: control and bidi characters dropped, CRLF folded, at most ``limit`` characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _NOTE_STRIP.sub("", text).strip()[:limit]


def plain(text: str) -> str:
    """Crawled text as inert text inside a Markdown-ish message (no links, emphasis or HTML)."""
    return xml_safe(text).translate(_MARKUP).replace("\n", " ")


def link_target(url: str) -> str:
    """A source URL that cannot end its ``(...)`` early or smuggle spaces; only http(s)."""
    if not re.match(r"https?://", url, re.IGNORECASE):
        return ""
    return quote(url, safe=":/?#@!$&'*+,;=%-._~")


_MD_LINK = re.compile(r"\[(.+?)\]\((https?://[^)\s]+)\)")


def html_links(escaped: str, allowed: set[str] | None) -> str:
    """``[text](url)`` in already-escaped HTML as ``<a>``, only for a URL in ``allowed`` (None: any)."""
    def one(m: re.Match[str]) -> str:
        url = html.unescape(m.group(2))
        if allowed is not None and url not in allowed:
            return m.group(0)
        return f'<a href="{m.group(2)}">{m.group(1)}</a>'

    return _MD_LINK.sub(one, escaped)


def escape(text: str) -> str:
    """HTML-escape text for a document or message body (quotes too)."""
    return html.escape(xml_safe(text), quote=True)
