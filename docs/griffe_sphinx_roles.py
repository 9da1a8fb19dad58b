"""A griffe extension for the API pages: the docstrings' Sphinx markup, as Markdown mkdocstrings renders.

The docstrings are written in Sphinx style (``:param x:`` fields, ``:class:`...``` roles). mkdocstrings'
Sphinx parser reads the fields when each starts a line; this extension

* starts a new line before a field that follows text on the same line (``:param a: ... :param b: ...``),
* turns cross-reference roles (``:class:`~seqgan_gym.generator.TokenLSTM```) into inline code
  (``TokenLSTM``; the full path without the ``~``).

It changes only the text mkdocstrings renders, never the package.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|obj|exc|const):`(~?)([\w.]+)`")
_INLINE_FIELD = re.compile(r"(?<=\S)[ \t]+(?=:(?:param|ivar|var|cvar|raises|raise|return|returns|rtype)\b[^:\n]*:)")


def _role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def rewrite(text: str) -> str:
    """``text`` with Sphinx roles as inline code and every field on a line of its own."""
    return _INLINE_FIELD.sub("\n", _ROLE.sub(_role, text))


class SphinxRoles(Extension):
    """Rewrite every docstring with :func:`rewrite` once the object tree is built."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
