"""Markdown written by users (guest notes), rendered safely for the portal's pages.

CommonMark with raw HTML switched off (markdown-it-py's `js-default` preset also refuses
`javascript:`, `vbscript:`, `file:` and most `data:` links), then sanitized by Ammonia (nh3)
with a short allow-list: whatever a parser bug let through, no script, style, event handler or
foreign element reaches the page. Links open outside the portal without a referrer.
"""

from functools import cache

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


@cache
def _parser() -> MarkdownIt:
    return MarkdownIt("js-default", {"html": False, "linkify": False, "typographer": False})


def render_markdown(text: str) -> str:
    """Safe HTML for `text` (mark it safe only after this)."""
    if not text:
        return ""
    html = _parser().render(text)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        # Table alignment only: markdown-it writes `style="text-align:..."`.
        filter_style_properties={"text-align"},
    )
