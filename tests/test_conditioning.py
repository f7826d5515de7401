"""The conditioning system prompt: the language's system message, then the sentence naming the group."""

import pytest

from itx.data.conditioning import GROUP_SENTENCE, system_prompt
from itx.data.languages import SYSTEM_MESSAGES


def test_language_alone_is_its_system_message():
  assert system_prompt("DE", None) == SYSTEM_MESSAGES["de"]
  assert system_prompt(None, None) == SYSTEM_MESSAGES["en"]


def test_group_sentence_follows_the_language_message():
  assert system_prompt("fr", "teenagers") == SYSTEM_MESSAGES["fr"] + GROUP_SENTENCE.format(group="teenagers")
  assert system_prompt(None, "men").startswith(SYSTEM_MESSAGES["en"]) and system_prompt(None, "men").endswith("group: men.")
  with pytest.raises(ValueError):
    system_prompt("en", " ")
