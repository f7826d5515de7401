"""The system prompt that conditions a chat on a language and, optionally, on a group.

One function renders it for training, evaluation and serving alike, so a model tuned with tag
conditioning (the group named in the system prompt, as OpinionGPT's single-model variant does) is
always asked exactly as it was tuned:

  system_prompt("de", None)      -> the German system message of `itx.data.languages`
  system_prompt(None, "teenagers") -> the English system message + " You answer as a member of the
                                      group: teenagers."
"""

from __future__ import annotations

from itx.data.languages import SYSTEM_MESSAGES

GROUP_SENTENCE = " You answer as a member of the group: {group}."


def system_prompt(language: str | None, group: str | None) -> str | None:
  """The system message for `language` (an ISO code such as "de" or "DE"; English when None),
  followed, when `group` is given, by the sentence naming the group. None for a language without a
  system message (and no group), so the caller sends no system turn. Raises ValueError for an
  empty group name."""
  base = SYSTEM_MESSAGES.get((language or "en").lower())
  if group is None:
    return base
  if not group.strip():
    raise ValueError("the group name is empty")
  return (base or SYSTEM_MESSAGES["en"]) + GROUP_SENTENCE.format(group=group)
