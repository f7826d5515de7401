"""Single-answer judgment files in MT-Bench-X's format (`model_judgment/<judge>_single.jsonl`), one
JSON object per line, as FastChat's `play_a_match_single` writes them:
  {"question_id", "model", "judge": [judge model, prompt name], "user_prompt", "judgment",
   "score", "turn", "tstamp"}
plus, from itx's judge client, "usage" (the endpoint's token counts) when the endpoint reports it.
score is -1 when the judgment holds no rating (a failed judgment). A judgment whose API call kept
failing reads "$ERROR$" (FastChat's API_ERROR_OUTPUT) with score -1; a rerun judges it again.
"""

from __future__ import annotations

import time
from typing import Mapping

from itx.data import jsonl
from itx.eval.judge_requests import API_ERROR_OUTPUT, FAILED_SCORE, JudgeRequest, parse_score

# The prompt name of the reference-based rule judge's lines: its scores are not MT-Bench scores.
RULE_PROMPT = "rule-v1"


def judgment_record(request: JudgeRequest, judge_model: str, judgment: str,
                    tstamp: float | None = None, usage: Mapping | None = None) -> dict:
  """The judgment line for `request`; the score is parsed from `judgment`."""
  record = {"question_id": request.question_id, "model": request.model,
            "judge": [judge_model, request.prompt_name], "user_prompt": request.user_prompt,
            "judgment": judgment, "score": parse_score(judgment), "turn": request.turn,
            "tstamp": time.time() if tstamp is None else tstamp}
  if usage:
    record["usage"] = dict(usage)
  return record


def judgment_key(record: Mapping) -> tuple[str, int, str]:
  """(question_id as str, turn, model): the same answer turn judged again has the same key."""
  return (str(record["question_id"]), int(record["turn"]), record["model"])


def is_valid(record: Mapping) -> bool:
  """True unless the judgment failed (score -1, or missing)."""
  s = record.get("score", FAILED_SCORE)
  return s is not None and s != FAILED_SCORE


def judgment_is_api_error(record: Mapping) -> bool:
  """True for a line written after every API attempt failed (no judgment was made)."""
  return record.get("judgment") == API_ERROR_OUTPUT


def read_judgments(path: str) -> list[dict]:
  """Every complete judgment line of `path` (a line cut short by a crash is skipped with a warning)."""
  return jsonl.read_jsonl(path, tolerate_cut_tail=True)
