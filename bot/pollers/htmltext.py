"""Plain text out of an HTML fragment, the way a reader sees it (shared by tme and feeds).

Whitespace in the markup (indentation, source line breaks) collapses to one space; ``<br>`` and
block elements (``<p>``, ``<div>``, ``<li>``, headings...) become line breaks; links keep their
visible text only; ``<script>``/``<style>`` are dropped. Lines are stripped and runs of more than
one empty line are squeezed to one.
"""

from __future__ import annotations

import logging
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

logger = logging.getLogger(__name__)

BLOCK_TAGS = frozenset(
    {
        "p", "div", "li", "ul", "ol", "blockquote", "pre", "section", "article", "header",
        "footer", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "figure", "figcaption",
    }
)  # fmt: skip
DROP_TAGS = frozenset({"script", "style", "noscript", "template", "head"})
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_SPACE_RUNS = re.compile(r" {2,}")
_BLANK_RUNS = re.compile(r"\n{3,}")


def node_text(node: LexborNode) -> str:
    """The readable text of a parsed node (see the module docstring)."""
    parts: list[str] = []
    _walk(node, parts)
    return _tidy("".join(parts))


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment or document."""
    if not html or "<" not in html and "&" not in html:
        return _tidy(_SPACES.sub(" ", html or ""))
    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return ""
    return node_text(root)


def _walk(node: LexborNode, parts: list[str]) -> None:
    child = node.child
    while child is not None:
        tag = child.tag
        if tag == "-text":
            parts.append(_SPACES.sub(" ", child.text_content or ""))
        elif tag == "br":
            parts.append("\n")
        elif tag in DROP_TAGS or (tag or "").startswith("-"):
            pass  # comments, doctype, scripts
        elif tag in BLOCK_TAGS:
            parts.append("\n")
            _walk(child, parts)
            parts.append("\n")
        else:
            _walk(child, parts)
        child = child.next


def _tidy(text: str) -> str:
    lines = [_SPACE_RUNS.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
