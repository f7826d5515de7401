"""OpinionGPT's eleven bias groups, the Reddit forum each one's answers come from, and the ways a
chat is conditioned on its group.

The groups and forums are those of Haller et al. 2023 (political, geographic, gender and age
biases). The group's key is the name a tag-conditioned model is prompted with
(`itx.data.conditioning.system_prompt`), so it reads as plain words.

Conditions of training data:
  pooled       every group's data, no group in the prompt (the one "average" model)
  tag          the group named in the system prompt (OpinionGPT's first release)
  tag_en_only  the group named only in English chats; the other languages' chats untagged
"""

from __future__ import annotations

from itx.data.conditioning import system_prompt

# group -> the "Ask..." forum (subreddit) its answers come from.
GROUP_FORUMS = {
    "liberal": "AskALiberal",
    "conservative": "AskConservatives",
    "german": "AskAGerman",
    "american": "AskAnAmerican",
    "latin american": "AskLatinAmerica",
    "middle eastern": "AskMiddleEast",
    "men": "AskMen",
    "women": "AskWomen",
    "people over 30": "AskPeopleOver30",
    "old people": "AskOldPeople",
    "teenagers": "AskTeenagers",
}
GROUPS = tuple(GROUP_FORUMS)
CONDITIONS = ("pooled", "tag", "tag_en_only")


def conditioned_system(condition: str, language: str | None, group: str | None) -> str | None:
  """The system message a training chat of `group` in `language` carries under `condition`."""
  if condition not in CONDITIONS:
    raise ValueError(f"unknown condition {condition!r} (expected one of {CONDITIONS})")
  tagged = condition == "tag" or (condition == "tag_en_only" and (language or "en").lower() == "en")
  return system_prompt(language, group if tagged else None)


def condition_messages(messages: list[dict], condition: str, language: str | None, group: str | None) -> list[dict]:
  """`messages` (user/assistant turns, any leading system turn replaced) under `condition`."""
  turns = [m for m in messages if m["role"] != "system"]
  system = conditioned_system(condition, language, group)
  return ([{"role": "system", "content": system}] if system else []) + turns
