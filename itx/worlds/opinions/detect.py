"""Reading an answer's stance back: the fixed words of the world's stance sentences.

Each stance sentence template ("I think {np} is a good idea.") has a part that no template of
another stance contains ("is a good idea"); an answer whose text holds such parts of exactly one
stance takes that stance. Matching is case-insensitive (informal answers are lower case).
"""

from __future__ import annotations

import functools
import re

from itx.worlds.opinions.phrases import STANCE_SENTENCES
from itx.worlds.opinions.stances import STANCES

_SLOT = re.compile(r"\{\w+\}")


def _pieces(template: str) -> list[str]:
  return [p.strip(" ,.").lower() for p in _SLOT.split(template) if p.strip(" ,.")]


@functools.lru_cache(maxsize=None)
def markers(lang: str) -> dict[str, tuple[str, ...]]:
  """stance -> the marker of each of its templates in `lang` (its longest piece that no other
  stance's template contains). Raises ValueError for a template without one."""
  out = {}
  for stance in STANCES:
    others = [o.lower() for s in STANCES if s != stance for o in STANCE_SENTENCES[s][lang]]
    found = []
    for template in STANCE_SENTENCES[stance][lang]:
      unique = [p for p in _pieces(template) if not any(p in o for o in others)]
      if not unique:
        raise ValueError(f"{lang} {stance} template {template!r} has no part unique to its stance")
      found.append(max(unique, key=len))
    out[stance] = tuple(found)
  return out


def stance_of(text: str, lang: str) -> str | None:
  """The stance an answer in `lang` takes, or None when it states none or several."""
  low = text.lower()
  found = {s for s, ms in markers(lang).items() if any(m in low for m in ms)}
  return found.pop() if len(found) == 1 else None
