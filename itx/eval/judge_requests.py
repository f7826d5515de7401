"""MT-Bench single-answer judge requests (the judge's system and user prompt for one answer turn)
and reading the score out of a judgment.

Prompt choice and filling follow FastChat's llm_judge as used by MT-Bench-X:
  turn 1: `single-v1`, or `single-math-v1` with {ref_answer_1} for math/reasoning/coding;
          fields {question}, {answer} (and {ref_answer_1});
  turn 2: `single-v1-multi-turn` / `single-math-v1-multi-turn`, the whole dialogue is shown and
          the judge rates the second answer; fields {question_1}, {answer_1}, {question_2},
          {answer_2} (and {ref_answer_1}, {ref_answer_2}).
The template is filled with `str.format`, exactly as FastChat, so braces inside answers are kept
verbatim. The judge receives [system: system_prompt, user: filled template].
"""

from __future__ import annotations

import ast
import dataclasses
import re
from typing import Mapping, Sequence

from itx.eval import mt_bench

ONE_SCORE = re.compile(r"\[\[(\d+\.?\d*)\]\]")
ONE_SCORE_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")
FAILED_SCORE = -1
# What FastChat writes when every API call failed.
API_ERROR_OUTPUT = "$ERROR$"


@dataclasses.dataclass(frozen=True)
class JudgeRequest:
  """Everything a judge needs for one (question, answering model, turn).

  A judge is any callable `JudgeRequest -> judgment text`; LLM judges read `messages`, rule
  judges read the structured fields (answer, reference, language).
  """
  question_id: str | int
  model: str                     # the model whose answer is judged
  turn: int                      # 1 or 2
  category: str
  language: str | None
  prompt_name: str               # e.g. "single-math-v1-multi-turn"
  system_prompt: str
  user_prompt: str
  question_turns: tuple[str, ...]
  answer_turns: tuple[str, ...]
  reference_turns: tuple[str, ...] | None = None

  @property
  def key(self) -> tuple[str, int, str]:
    """(question_id as str, turn, model): identifies a judgment in a judgment file."""
    return (str(self.question_id), int(self.turn), self.model)

  @property
  def question(self) -> str:
    return self.question_turns[self.turn - 1]

  @property
  def answer(self) -> str:
    return self.answer_turns[self.turn - 1]

  @property
  def reference(self) -> str | None:
    return None if self.reference_turns is None else self.reference_turns[self.turn - 1]

  @property
  def messages(self) -> list[dict[str, str]]:
    """OpenAI chat messages: [system, user]."""
    return [{"role": "system", "content": self.system_prompt},
            {"role": "user", "content": self.user_prompt}]


def prompt_name(category: str, turn: int) -> str:
  """Name of the judge prompt for a category and turn (1 or 2)."""
  if turn not in (1, 2):
    raise ValueError(f"turn must be 1 or 2, not {turn}")
  base = "single-math-v1" if category in mt_bench.REFERENCE_CATEGORIES else "single-v1"
  return base if turn == 1 else base + "-multi-turn"


def build_judge_request(question: Mapping, answer_turns: Sequence[str],
                        prompts: Mapping[str, Mapping], turn: int, model: str,
                        reference_turns: Sequence[str] | None = None,
                        language: str | None = None) -> JudgeRequest:
  """The judge request for one answer turn.

  Args:
    question: a question.jsonl record {"question_id", "category", "turns": [q1, q2]}.
    answer_turns: the model's answers [a1, a2] (turn 2 needs both).
    prompts: {name: judge prompt record} of the question's language (`load_judge_prompts`).
    turn: 1 or 2.
    model: id of the answering model.
    reference_turns: reference answers [r1, r2]; required for math, reasoning and coding.
    language: the question's language (default: the suffix of its id, as in "81_DE").
  """
  category = question["category"]
  name = prompt_name(category, turn)
  if name not in prompts:
    raise KeyError(f"judge prompt {name!r} missing (have {sorted(prompts)})")
  prompt = prompts[name]
  if len(answer_turns) < turn:
    raise ValueError(f"{question['question_id']}: turn {turn} needs {turn} answers, got "
                     f"{len(answer_turns)}")
  fields = {}
  if category in mt_bench.REFERENCE_CATEGORIES:
    if reference_turns is None:
      raise ValueError(f"{question['question_id']} ({category}) needs a reference answer")
    fields["ref_answer_1"] = reference_turns[0]
    if turn == 2:
      fields["ref_answer_2"] = reference_turns[1]
  q = question["turns"]
  if turn == 1:
    fields.update(question=q[0], answer=answer_turns[0])
  else:
    fields.update(question_1=q[0], question_2=q[1], answer_1=answer_turns[0],
                  answer_2=answer_turns[1])
  return JudgeRequest(
      question_id=question["question_id"], model=model, turn=turn, category=category,
      language=language or mt_bench.question_language(question["question_id"]),
      prompt_name=name, system_prompt=prompt["system_prompt"],
      user_prompt=prompt["prompt_template"].format(**fields),
      question_turns=tuple(q), answer_turns=tuple(answer_turns),
      reference_turns=None if reference_turns is None else tuple(reference_turns))


def build_judge_requests(root: str, lang: str, answers: Mapping, model: str, *,
                         reference_model: str = "gpt-4", turns: Sequence[int] = (1, 2),
                         prompts_file: str = "judge_prompts.jsonl") -> list[JudgeRequest]:
  """Judge requests for every question of `lang` that has an answer, in question order.

  Args:
    root: benchmark root (with mt_bench_<lang>/).
    answers: {question_id: model_answer record or list of turn texts}.
    model: id of the answering model.
    reference_model: reference answers come from reference_answer/<reference_model>.jsonl.
  Returns:
    [JudgeRequest], turn 1 then turn 2 for each question; questions without an answer are
    skipped (a judgment file then reports them as missing).
  """
  prompts = mt_bench.load_judge_prompts(root, lang, prompts_file)
  refs = mt_bench.load_reference_answers(root, lang, reference_model)
  out = []
  for q in mt_bench.load_questions(root, lang):
    a = answers.get(q["question_id"])
    if a is None:
      continue
    a_turns = mt_bench.answer_turns(a) if isinstance(a, Mapping) else list(a)
    for t in turns:
      out.append(build_judge_request(q, a_turns, prompts, t, model, refs.get(q["question_id"]),
                                     language=lang))
  return out


def parse_score(judgment: str) -> float | int:
  """The rating in `[[x]]` (else in `[x]`, FastChat's fallback) as int or float; -1 if none."""
  m = ONE_SCORE.search(judgment) or ONE_SCORE_BACKUP.search(judgment)
  return ast.literal_eval(m.group(1)) if m else FAILED_SCORE
