"""A graphviz Digraph in which every name and attribute value is plain text.

Labels come from catalogs and BPMN files anyone with an upload right writes (department, unit,
post, duty, process and lane names). Handed to graphviz as they are, they are DOT, not text:
- a value `<…>` is an HTML-like label, whose `<TD HREF="javascript:…">` becomes a link in the SVG
  served on /dashboard and /api/diagrams/*.svg, and whose malformed markup (`<script>…</script>`)
  makes graphviz fail;
- `\\N`, `\\G`, `\\E`, `\\T`, `\\H`, `\\L` are replaced by names, `\\l`, `\\r`, `\\n` break lines;
- `&lt;`, `&#60;` and other entities are decoded by graphviz before the SVG is written.

`TextDigraph` quotes every node and edge name, every label and every other attribute value
through `text()`: never HTML-like (graphviz's `nohtml`), backslashes doubled (graphviz's
`escape`), `&` written as `&amp;` so graphviz's entity decoding gives back the `&` typed; the
quoting of the graphviz package then escapes `"`. What graphviz draws is exactly the text given,
and its SVG writer escapes `<`, `>`, `&` and quotes as XML. Edge ends are names only: the package's
`node:port` splitting would let a `:` in a code pick a port (and the part before it be HTML-like).
Real line breaks (`\\n` characters in the Python string) stay line breaks.
"""

from __future__ import annotations

from typing import Any

import graphviz
from graphviz import quoting


def text(value: Any) -> str:
    """`value` as DOT text that graphviz shows literally."""
    return graphviz.escape(str(value).replace("&", "&amp;"))


# Attributes graphviz reads without unescaping `\\`: a doubled backslash there would still let
# the second one start `\N` etc., so their backslashes are shown as the full-width ＼ instead.
_RAW_ESCAPES = {"tooltip", "labeltooltip", "edgetooltip", "headtooltip", "tailtooltip"}


def _value(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if key in _RAW_ESCAPES:
        return text(str(value).replace("\\", "＼"))
    return text(value)


def _texts(items: Any) -> Any:
    if items is None:
        return None
    pairs = items.items() if hasattr(items, "items") else items
    return {key: _value(key, value) for key, value in pairs}


def _quote(identifier: str) -> str:
    return quoting.quote(text(identifier))


def _a_list(label: Any = None, kwargs: Any = None, attributes: Any = None) -> str:
    return quoting.a_list(None if label is None else text(label), kwargs=_texts(kwargs),
                          attributes=_texts(attributes))


def _attr_list(label: Any = None, kwargs: Any = None, attributes: Any = None) -> str:
    return quoting.attr_list(None if label is None else text(label), kwargs=_texts(kwargs),
                             attributes=_texts(attributes))


class TextDigraph(graphviz.Digraph):
    """A Digraph whose names and attribute values are all plain text (see the module docstring).

    Subgraphs made with `subgraph(name=…)` are of the same class, so they quote the same way.
    """

    _quote = staticmethod(_quote)
    _quote_edge = staticmethod(_quote)
    _a_list = staticmethod(_a_list)
    _attr_list = staticmethod(_attr_list)
