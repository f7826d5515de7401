"""A reference-based rule judge for evaluation sets whose answers are checkable. It returns a
judgment text ending in "Rating: [[s]]", so its output goes into the same judgment files and
aggregation code as an LLM judge's, and `RuleJudge` has the same interface as `OpenAIJudge`
(JudgeRequest -> judgment). Its lines carry the prompt name "rule-v1", so aggregation keys them
`rule_<LANG>_...`: they are never reported as MT-Bench scores.

Scores (1..10):
  1   empty answer (nothing left after normalisation), or an answer identified as written in a
      candidate language other than the question's (language_id; UNDETERMINED, e.g. a bare
      number, is not penalised);
  10  the answer equals the reference after `text_metrics.normalize`;
  9   the normalised reference occurs in the normalised answer as whole words (a correct answer
      with some explanation around it);
  1 + round(7 * chrF / 100), i.e. 1..8, otherwise: partial credit by character n-gram overlap.
"""

from __future__ import annotations

import re
from typing import Sequence

from itx.data.languages import STUDY_LANGUAGES
from itx.eval import language_id, text_metrics
from itx.eval.judge_requests import JudgeRequest
from itx.eval.judgments import RULE_PROMPT


def rule_score(answer: str, reference: str, language: str | None = None,
               candidates: Sequence[str] = STUDY_LANGUAGES) -> tuple[int, str]:
  """(score 1..10, reason) for `answer` against `reference` (see the module docstring).

  Args:
    language: the question's language; None skips the language check.
    candidates: languages the identifier chooses among (must include `language`).
  """
  norm_answer, norm_ref = text_metrics.normalize(answer), text_metrics.normalize(reference)
  if not norm_answer:
    return 1, "The answer is empty."
  if language is not None:
    got = language_id.identify(answer, candidates)
    if got not in (language_id.UNDETERMINED,) and got.lower() != language.lower():
      return 1, f"The answer is written in {got}, but the question is in {language}."
  if norm_answer == norm_ref:
    return 10, "The answer matches the reference answer."
  if norm_ref and re.search(r"(?<!\w)" + re.escape(norm_ref) + r"(?!\w)", norm_answer):
    return 9, "The answer contains the reference answer."
  c = text_metrics.chrf(answer, reference)
  return 1 + round(7 * c / 100), f"The answer differs from the reference answer (chrF {c:.1f})."


def rule_judgment(answer: str, reference: str, language: str | None = None,
                  candidates: Sequence[str] = STUDY_LANGUAGES) -> str:
  """A judgment text "<reason> Rating: [[s]]" (parsed by `judge_requests.parse_score`)."""
  score, reason = rule_score(answer, reference, language, candidates)
  return f"{reason} Rating: [[{score}]]"


class RuleJudge:
  """Judge callable: JudgeRequest -> judgment text, from the request's answer, reference and
  language. Requests without a reference answer raise ValueError."""

  name = RULE_PROMPT

  def __init__(self, candidates: Sequence[str] = STUDY_LANGUAGES, check_language: bool = True):
    self.candidates = tuple(candidates)
    self.check_language = check_language

  def __call__(self, request: JudgeRequest) -> str:
    if request.reference is None:
      raise ValueError(f"{request.key}: the rule judge needs a reference answer")
    language = request.language if self.check_language else None
    return rule_judgment(request.answer, request.reference, language, self.candidates)


def reference_request(question_id, model: str, question: str, answer: str, reference: str, *,
                      language: str | None = None, category: str = "reference",
                      turn: int = 1) -> JudgeRequest:
  """A single-turn JudgeRequest for a generated, checkable evaluation item (no judge prompt:
  user_prompt is the question itself, so judgment lines still show what was asked)."""
  return JudgeRequest(
      question_id=question_id, model=model, turn=turn, category=category, language=language,
      prompt_name=RuleJudge.name, system_prompt="", user_prompt=question,
      question_turns=(question,) * turn, answer_turns=(answer,) * turn,
      reference_turns=(reference,) * turn)
