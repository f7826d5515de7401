"""Every task family of the polyglot world, by name (16 families in six groups)."""

from __future__ import annotations

from itx.worlds.polyglot.families import calendar, knowledge, numbers, read, rewrite, translate
from itx.worlds.polyglot.task import Family

FAMILIES: dict[str, Family] = {
    f.name: f for module in (translate, read, rewrite, numbers, calendar, knowledge) for f in module.FAMILIES
}
