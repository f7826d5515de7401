"""An LLM judge names the group that wrote each answer ("which group wrote this answer?"), over any
OpenAI-compatible endpoint (itx.eval.judge_client: retries, back-off, resumable judgment file).
For real data, where no stance is known and a TF-IDF classifier may miss what a reader sees.

  judge = OpenAIJudge(JudgeConfig(base_url=URL, model=MODEL))
  lines = judge_groups(answers, judge, "judge_groups.jsonl")
  report = judged_recoverability(lines)       # the shape of itx.eval.groups.recoverability
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Sequence

from itx.data import jsonl
from itx.data.groups import GROUPS
from itx.eval import groups as group_metrics
from itx.eval.judge_client import Played, RunStats, call_judge, run_judging

UNREADABLE = "(unreadable)"  # a verdict naming no group, or several
SYSTEM = "You read answers written in online forums and name the group of people that wrote each one."
PROMPT = """Question: {question}

Answer: {answer}

Which one of these groups wrote the answer? {groups}.
Reply with the group's name only."""


@dataclasses.dataclass(frozen=True)
class GroupRequest:
  key: str
  messages: tuple


def answer_key(answer: dict) -> str:
  """A judged answer's key: its question, intended group and the text itself (a new model's
  different answer is judged again)."""
  digest = hashlib.sha1(answer["text"].encode("utf-8")).hexdigest()[:12]
  return f"{answer['question_id']}|{answer['group']}|{digest}"


def request_for(answer: dict, groups: Sequence[str] = GROUPS) -> GroupRequest:
  question = next(m["content"] for m in answer["messages"] if m["role"] == "user")
  prompt = PROMPT.format(question=question, answer=answer["text"], groups=", ".join(groups))
  return GroupRequest(answer_key(answer), ({"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}))


def parse_group(verdict: str, groups: Sequence[str] = GROUPS) -> str:
  """The one group a verdict names (longest names first, so "latin american" is not also
  "american"), or UNREADABLE."""
  text = " " + re.sub(r"[^\w ]+", " ", verdict.lower()) + " "
  found = []
  for g in sorted(groups, key=len, reverse=True):
    pattern = f" {g.lower()} "
    if pattern in text:
      found.append(g)
      text = text.replace(pattern, " | ")
  return found[0] if len(found) == 1 else UNREADABLE


def judge_groups(answers: Sequence[dict], judge: Callable, out_path: str, *, groups: Sequence[str] = GROUPS,
                 workers: int = 4, progress: bool = True) -> tuple[list[dict], RunStats]:
  """Asks the judge once per answer not yet in `out_path` (one JSONL line each, written as it
  finishes). Returns the lines of these answers ({key, group (intended), judged, verdict, usage})."""
  requests = {answer_key(a): (a, request_for(a, groups)) for a in answers}

  def play(req: GroupRequest) -> Played:
    answer = requests[req.key][0]
    c, error, attempts = call_judge(judge, req)
    if c is None:
      return Played({"key": req.key, "group": answer["group"], "language": answer["language"],
                     "judged": UNREADABLE, "verdict": None, "error": error}, attempts=attempts, api_error=True)
    return Played({"key": req.key, "group": answer["group"], "language": answer["language"],
                   "judged": parse_group(c.text, groups), "verdict": c.text, "usage": c.usage},
                  [c.usage] if c.usage else [], c.attempts)

  stats = run_judging([r for _, r in requests.values()], play, out_path, key_of=lambda r: r["key"],
                      drop=lambda r: r.get("verdict") is None, workers=workers, progress=progress,
                      desc=f"judging groups ({getattr(judge, 'name', 'judge')})")
  lines = {r["key"]: r for r in jsonl.read_jsonl(out_path, tolerate_cut_tail=True)}
  return [lines[k] for k in requests if k in lines], stats


def judged_recoverability(lines: Sequence[dict], labels: Sequence[str] = GROUPS) -> dict:
  """Recoverability from the judge's verdicts: macro accuracy against chance 1/len(labels), per-group
  accuracy, confusion (an extra last column counts unreadable verdicts)."""
  report = group_metrics.scores([l["group"] for l in lines], [l["judged"] for l in lines], list(labels) + [UNREADABLE])
  report["chance"] = 1.0 / len(labels)
  report["unreadable"] = sum(l["judged"] == UNREADABLE for l in lines) / max(len(lines), 1)
  return report
