"""MT-Bench pairwise judging, FastChat's `pairwise-baseline` and `pairwise-all` modes, with the
`pair-v2` / `pair-math-v1` judge prompts of the question's language (their `-multi-turn` versions
for turn 2, reference answers for math, reasoning and coding).

A match is (question, turn, model_1, model_2), played as two games as FastChat's
`play_a_match_pair` plays it: game 1 shows model_1 as assistant A, game 2 shows model_2 as A. A
verdict is read as FastChat reads it: "[[A]]" (looked for first), else "[[B]]", else "[[C]]" (tie),
else "[[D]]" (both bad; MT-Bench-X's v2 prompts), else "error". Each match is one line of
FastChat's `<judge>_pair.jsonl` format:
  {"question_id", "model_1", "model_2", "g1_winner", "g2_winner", "judge": [judge, prompt name],
   "g1_user_prompt", "g1_judgment", "g2_user_prompt", "g2_judgment", "turn", "tstamp"}
winners "model_1", "model_2", "tie", "tie (bothbad)" or "error" (a game whose API call failed:
judgment "$ERROR$", judged again on a rerun).

Counting (FastChat's show_result): a match with an "error" game is left out (and counted); a match
that is a tie in game 1 or whose two verdicts differ (position bias) is a tie for both models;
otherwise a win for one model and a loss for the other. win_rate = win / (win + loss + tie),
win_rate_adjusted = (win + tie / 2) / (win + loss + tie). Against a baseline only matches with the
baseline count, and the baseline's own row is dropped. (FastChat would count a consistent "both
bad" as a win of model_2; here it is a tie.)

Long answers are cut to fit the judge's context as MT-Bench-X's pairwise judge does (`fit_context`:
words x 2.3 tokens within 8192 - 2048 tokens); `fit=False` fills the prompt as FastChat does.

  python -m itx.eval.pairwise --bench=ROOT --mode=baseline --baseline=MODEL --judge_model=gpt-4
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import time
from collections import defaultdict
from typing import Mapping, Sequence

from itx.data import jsonl
from itx.data.files import atomic_write_json
from itx.eval import mt_bench
from itx.eval.judge_client import Played, call_judge, run_judging
from itx.eval.judge_requests import API_ERROR_OUTPUT

MODES = ("baseline", "all")
WINNERS = ("model_1", "model_2", "tie", "tie (bothbad)", "error")
# MT-Bench-X's budget for a pairwise prompt (its enforce_max_length).
CONTEXT_TOKENS, JUDGE_NEW_TOKENS, WORD_FERTILITY = 8192, 2048, 2.3


def pair_prompt_name(category: str, turn: int) -> str:
  """pair-v2 / pair-math-v1 (reference categories), with "-multi-turn" for turn 2."""
  if turn not in (1, 2):
    raise ValueError(f"turn must be 1 or 2, not {turn}")
  base = "pair-math-v1" if category in mt_bench.REFERENCE_CATEGORIES else "pair-v2"
  return base if turn == 1 else base + "-multi-turn"


def fit_context(fields: Mapping[str, str], system_prompt: str, *, total_tokens: int = CONTEXT_TOKENS,
                new_tokens: int = JUDGE_NEW_TOKENS, fertility: float = WORD_FERTILITY) -> dict:
  """MT-Bench-X's length guard: when (words of questions, answers, references and system prompt)
  x fertility exceeds total_tokens - new_tokens, every field whose name contains "answer" (the
  references too, as there) is cut to the same number of whitespace-separated words."""
  words = lambda s: len(s.split())  # noqa: E731
  n_sys = words(system_prompt)
  n_q = sum(words(v) for k, v in fields.items() if "question" in k)
  n_ref = sum(words(v) for k, v in fields.items() if "ref" in k)
  n_ans = sum(words(v) for k, v in fields.items() if "answer" in k and "ref" not in k)
  budget = total_tokens - new_tokens
  if int((n_q + n_ans + n_ref + n_sys) * fertility) <= budget:
    return dict(fields)
  n_fields = sum("answer" in k for k in fields)
  per_field = max(0, int((budget / fertility - n_q - n_sys - n_ref) / n_fields))
  return {k: " ".join(v.split()[:per_field]) if "answer" in k else v for k, v in fields.items()}


@dataclasses.dataclass(frozen=True)
class PairMatch:
  """Two answers to one question turn, and the two judge prompts (both answer orders)."""
  question_id: str | int
  model_1: str
  model_2: str
  turn: int
  category: str
  language: str | None
  prompt_name: str
  system_prompt: str
  user_prompts: tuple[str, str]   # game 1: model_1 is assistant A; game 2: model_2 is A

  @property
  def key(self) -> tuple[str, int, str, str]:
    return (str(self.question_id), int(self.turn), self.model_1, self.model_2)

  def messages(self, game: int) -> list[dict[str, str]]:
    return [{"role": "system", "content": self.system_prompt},
            {"role": "user", "content": self.user_prompts[game - 1]}]


def build_pair_match(question: Mapping, answers_1: Sequence[str], answers_2: Sequence[str],
                     prompts: Mapping[str, Mapping], turn: int, model_1: str, model_2: str,
                     reference_turns: Sequence[str] | None = None, language: str | None = None,
                     fit: bool = True) -> PairMatch:
  """The match of model_1 and model_2 on one question turn (fields as FastChat's run_judge_pair)."""
  category = question["category"]
  name = pair_prompt_name(category, turn)
  if name not in prompts:
    raise KeyError(f"judge prompt {name!r} missing (have {sorted(prompts)})")
  prompt = prompts[name]
  refs = {}
  if category in mt_bench.REFERENCE_CATEGORIES:
    if reference_turns is None:
      raise ValueError(f"{question['question_id']} ({category}) needs a reference answer")
    refs["ref_answer_1"] = reference_turns[0]
    if turn == 2:
      refs["ref_answer_2"] = reference_turns[1]
  q = question["turns"]

  def fill(a: Sequence[str], b: Sequence[str]) -> str:
    if turn == 1:
      fields = dict(question=q[0], answer_a=a[0], answer_b=b[0])
    else:
      fields = dict(question_1=q[0], question_2=q[1], answer_a_1=a[0], answer_b_1=b[0],
                    answer_a_2=a[1], answer_b_2=b[1])
    fields.update(refs)
    if fit:
      fields = fit_context(fields, prompt["system_prompt"])
    return prompt["prompt_template"].format(**fields)

  for m, a in ((model_1, answers_1), (model_2, answers_2)):
    if len(a) < turn:
      raise ValueError(f"{question['question_id']}: turn {turn} needs {turn} answers from {m}")
  return PairMatch(question["question_id"], model_1, model_2, turn, category,
                   language or mt_bench.question_language(question["question_id"]), name,
                   prompt["system_prompt"], (fill(answers_1, answers_2), fill(answers_2, answers_1)))


def model_pairs(models: Sequence[str], mode: str, baseline: str | None = None) -> list[tuple]:
  """(model_1, model_2) as FastChat's make_match (each model against the baseline, the baseline
  as model_2) or make_match_all_pairs (every pair once, in `models` order)."""
  if mode == "baseline":
    if not baseline:
      raise ValueError("mode 'baseline' needs a baseline model")
    return [(m, baseline) for m in models if m != baseline]
  if mode == "all":
    return list(itertools.combinations(models, 2))
  raise ValueError(f"mode must be one of {MODES}, not {mode!r}")


def build_pair_matches(root: str, lang: str, answers: Mapping[str, Mapping], *, mode: str,
                       baseline: str | None = None, models: Sequence[str] | None = None,
                       reference_model: str = "gpt-4", turns: Sequence[int] = (1, 2),
                       prompts_file: str = "judge_prompts.jsonl", fit: bool = True) -> list[PairMatch]:
  """Every match of one language.

  Args:
    answers: {model: {question_id: model_answer record or list of turn texts}}.
    mode: "baseline" or "all" (`model_pairs`); models default to every model in `answers` (with
      the baseline, which must have answers too).
  Returns:
    [PairMatch]; a question that one model of a pair did not answer is skipped for that pair.
  """
  models = list(models) if models else sorted(answers)
  if baseline and baseline not in answers:
    raise KeyError(f"no answers of the baseline {baseline!r} in {lang} (have {sorted(answers)})")
  prompts = mt_bench.load_judge_prompts(root, lang, prompts_file)
  need_refs = any(q["category"] in mt_bench.REFERENCE_CATEGORIES
                  for q in mt_bench.load_questions(root, lang))
  refs = mt_bench.load_reference_answers(root, lang, reference_model) if need_refs else {}
  turns_of = lambda a: mt_bench.answer_turns(a) if isinstance(a, Mapping) else list(a)  # noqa: E731
  out = []
  for q in mt_bench.load_questions(root, lang):
    qid = q["question_id"]
    for m1, m2 in model_pairs(models, mode, baseline):
      a1, a2 = answers.get(m1, {}).get(qid), answers.get(m2, {}).get(qid)
      if a1 is None or a2 is None:
        continue
      for t in turns:
        out.append(build_pair_match(q, turns_of(a1), turns_of(a2), prompts, t, m1, m2,
                                    refs.get(qid), language=lang, fit=fit))
  return out


def parse_verdict(judgment: str) -> str:
  """"A", "B", "tie", "tie (bothbad)" or "error", in FastChat's order of looking."""
  for token, verdict in (("[[A]]", "A"), ("[[B]]", "B"), ("[[C]]", "tie"),
                         ("[[D]]", "tie (bothbad)")):
    if token in judgment:
      return verdict
  return "error"


def pair_key(record: Mapping) -> tuple[str, int, str, str]:
  return (str(record["question_id"]), int(record["turn"]), record["model_1"], record["model_2"])


def pair_has_api_error(record: Mapping) -> bool:
  """True when either game of a pair line got no judgment (every API attempt failed)."""
  return API_ERROR_OUTPUT in (record.get("g1_judgment"), record.get("g2_judgment"))


def play_pair(match: PairMatch, judge, judge_name: str) -> Played:
  """Both games of a match -> its FastChat pair line. `judge` has `complete(messages)`."""
  record = {"question_id": match.question_id, "model_1": match.model_1, "model_2": match.model_2}
  winners, usage, attempts, api_error = [], [], 0, False
  for game, as_model in ((1, {"A": "model_1", "B": "model_2"}),
                         (2, {"A": "model_2", "B": "model_1"})):
    c, error, n = call_judge(judge.complete, match.messages(game))
    attempts += n
    if c is None:
      text, api_error = API_ERROR_OUTPUT, True
      record[f"g{game}_error"] = error
    else:
      text = c.text
      if c.usage:
        usage.append(c.usage)
        record[f"g{game}_usage"] = c.usage
    v = parse_verdict(text)
    winners.append(as_model.get(v, v))
    record[f"g{game}_user_prompt"], record[f"g{game}_judgment"] = match.user_prompts[game - 1], text
  record.update(g1_winner=winners[0], g2_winner=winners[1],
                judge=[judge_name, match.prompt_name], turn=match.turn, tstamp=time.time())
  # FastChat's key order, for files that diff cleanly against its own
  order = ["question_id", "model_1", "model_2", "g1_winner", "g2_winner", "judge",
           "g1_user_prompt", "g1_judgment", "g2_user_prompt", "g2_judgment", "turn", "tstamp"]
  record = {**{k: record[k] for k in order}, **{k: v for k, v in record.items() if k not in order}}
  return Played(record, usage, attempts, api_error=api_error, failed="error" in winners)


def judge_pairs(matches: Sequence[PairMatch], judge, out_path: str, *, judge_name: str | None = None,
                workers: int = 4, retry_failed: bool = False, progress: bool = True):
  """Play every match not yet in `out_path` (FastChat's pair format); returns RunStats. Lines
  with an "$ERROR$" game are replaced; retry_failed also replays matches with an unreadable
  verdict (appended)."""
  judge_name = judge_name or judge.name
  return run_judging(matches, lambda m: play_pair(m, judge, judge_name), out_path, key_of=pair_key,
                     drop=pair_has_api_error, redo=lambda r: retry_failed and "error" in (
                         r["g1_winner"], r["g2_winner"]),
                     workers=workers, progress=progress, desc=f"pairwise ({judge_name})")


def outcome(record: Mapping) -> str:
  """"error", "tie" (a tie, both bad, or inconsistent verdicts), "model_1" or "model_2"."""
  g1, g2 = record["g1_winner"], record["g2_winner"]
  if "error" in (g1, g2):
    return "error"
  if g1.startswith("tie") or g1 != g2:
    return "tie"
  return g1


def _rates(c: Mapping) -> dict:
  n = c["win"] + c["loss"] + c["tie"]
  nan = float("nan")
  return {**c, "matches": n, "win_rate": c["win"] / n if n else nan,
          "loss_rate": c["loss"] / n if n else nan,
          "win_rate_adjusted": (c["win"] + 0.5 * c["tie"]) / n if n else nan}


def win_rates(records: Sequence[Mapping], *, baseline: str | None = None,
              categories: Mapping | None = None) -> dict:
  """Win/tie/loss per model, per language and per category (FastChat's show_result counting).

  Args:
    records: pair lines, each with a "language" field (`load_pairs`).
    baseline: count only matches with this model and leave its own row out (pairwise-baseline);
      None: every match (pairwise-all).
    categories: {question_id: category}; default from the question number.
  Returns:
    {"baseline", "errors": matches left out, "inconsistent": matches whose verdicts differ,
     "models": {model: {"all": stats, "languages": {lang: {"all": stats, "categories":
     {category: stats}, "turns": {1: stats, 2: stats}}}}}}, stats = {"win", "loss", "tie",
     "matches", "win_rate", "loss_rate", "win_rate_adjusted"}.
  """
  zero = lambda: {"win": 0, "loss": 0, "tie": 0}  # noqa: E731
  counts = defaultdict(zero)
  errors = inconsistent = 0
  for r in records:
    if baseline is not None and baseline not in (r["model_1"], r["model_2"]):
      continue
    o = outcome(r)
    if o == "error":
      errors += 1
      continue
    inconsistent += r["g1_winner"] != r["g2_winner"]
    lang = r["language"]
    cat = (categories or {}).get(r["question_id"]) or mt_bench.category_of(r["question_id"])
    if o == "tie":
      results = [(r["model_1"], "tie"), (r["model_2"], "tie")]
    else:
      loser = r["model_2"] if o == "model_1" else r["model_1"]
      results = [(r[o], "win"), (loser, "loss")]
    for model, res in results:
      for where in (("all",), (lang, "all"), (lang, "categories", cat), (lang, "turns", r["turn"])):
        counts[(model,) + where][res] += 1
  models = {}
  for key, c in sorted(counts.items(), key=lambda kv: str(kv[0])):
    model, where = key[0], key[1:]
    if model == baseline:
      continue
    m = models.setdefault(model, {"all": None, "languages": {}})
    if where == ("all",):
      m["all"] = _rates(c)
    else:
      lang = m["languages"].setdefault(where[0], {"all": None, "categories": {}, "turns": {}})
      if where[1] == "all":
        lang["all"] = _rates(c)
      else:
        lang[where[1]][where[2]] = _rates(c)
  return {"baseline": baseline, "errors": errors, "inconsistent": inconsistent, "models": models}


def load_pairs(paths: Sequence[str], language: str | None = None) -> list[dict]:
  """Pair lines of `paths`, each with a "language" field (question id suffix, else the path's
  mt_bench_<LANG>, else `language`)."""
  return [{**r, "language": mt_bench.record_language(r, p, language)}
          for p in paths for r in jsonl.read_jsonl(p, tolerate_cut_tail=True)]


def format_table(result: Mapping) -> str:
  f = lambda x: f"{x:6.3f}"  # noqa: E731
  lines = [f"baseline: {result['baseline'] or '(all pairs)'}   matches left out (error): "
           f"{result['errors']}   inconsistent verdicts (counted as ties): {result['inconsistent']}",
           f"{'model':<24} {'language':<9} {'category':<11} {'win':>4} {'tie':>4} {'loss':>4} "
           f"{'win_rate':>8} {'adjusted':>8}"]
  for model, m in result["models"].items():
    rows = [("all", "all", m["all"])]
    for lang, l in m["languages"].items():
      rows.append((lang, "all", l["all"]))
      rows += [(lang, cat, s) for cat, s in l["categories"].items()]
    for lang, cat, s in rows:
      lines.append(f"{model:<24} {lang:<9} {cat:<11} {s['win']:>4} {s['tie']:>4} {s['loss']:>4} "
                   f"{f(s['win_rate']):>8} {f(s['win_rate_adjusted']):>8}")
  return "\n".join(lines)


def pair_file(root: str, lang: str, judge_name: str) -> str:
  return os.path.join(mt_bench.bench_dir(root, lang), "model_judgment", f"{judge_name}_pair.jsonl")


def _cli() -> None:
  from absl import app, flags

  from itx.cli import parse_flags
  from itx.data.languages import STUDY_LANGUAGES

  bench = flags.DEFINE_string("bench", None, "MT-Bench-X data folder (mt_bench_<LANG>/...).")
  answers = flags.DEFINE_string("answers", None, "Folder with mt_bench_<LANG>/model_answer/<model>"
                                ".jsonl (FastChat's layout); judgments go to its mt_bench_<LANG>/"
                                "model_judgment/<judge>_pair.jsonl. Default: --bench.")
  languages = flags.DEFINE_list("languages", list(STUDY_LANGUAGES), "Languages to judge.")
  mode = flags.DEFINE_enum("mode", "baseline", MODES, "Against --baseline, or all pairs.")
  baseline = flags.DEFINE_string("baseline", None, "The baseline model (mode baseline).")
  models = flags.DEFINE_list("models", None, "Models to judge (default: every answer file).")
  reference_model = flags.DEFINE_string("reference_model", "gpt-4",
                                        "reference_answer/<name>.jsonl for math/reasoning/coding.")
  judge_url = flags.DEFINE_string("judge_url", "https://api.openai.com/v1", "Judge endpoint.")
  judge_model = flags.DEFINE_string("judge_model", None, "The judge's model name, as the endpoint "
                                    "calls it (written into every judgment line).")
  api_key_env = flags.DEFINE_string("judge_api_key_env", "OPENAI_API_KEY",
                                    "NAME of the variable holding the key ('' for none).")
  workers = flags.DEFINE_integer("workers", 4, "Concurrent judge calls.")
  show_only = flags.DEFINE_bool("show_only", False, "Only count the existing judgment files.")
  out = flags.DEFINE_string("out", None, "Write pairwise_results.json here.")
  flags.mark_flags_as_required(["bench", "judge_model"])

  def main(argv):
    if len(argv) > 1:
      raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from itx.eval.judge_client import JudgeConfig, OpenAIJudge
    root = answers.value or bench.value
    baseline_model = baseline.value if mode.value == "baseline" else None
    if mode.value == "baseline" and not baseline_model:
      raise app.UsageError("--mode=baseline needs --baseline")
    paths = []
    for lang in languages.value:
      path = pair_file(root, lang, judge_model.value)
      if not show_only.value:
        model_answers = mt_bench.load_model_answers(
            os.path.join(mt_bench.bench_dir(root, lang), "model_answer"))
        matches = build_pair_matches(bench.value, lang, model_answers, mode=mode.value,
                                     baseline=baseline_model, models=models.value,
                                     reference_model=reference_model.value)
        judge = OpenAIJudge(JudgeConfig(base_url=judge_url.value, model=judge_model.value,
                                        api_key_env=api_key_env.value))
        stats = judge_pairs(matches, judge, path, workers=workers.value)
        print(f"{lang}: {stats.written} matches judged, {stats.already_done} already done, "
              f"{stats.api_errors} API errors (rerun to retry), tokens {stats.usage}")
      if os.path.exists(path):
        paths.append(path)
    result = win_rates(load_pairs(paths), baseline=baseline_model,
                       categories=mt_bench.question_categories(bench.value))
    result.update(judge=judge_model.value, prompts="pair-v2 / pair-math-v1 (+ -multi-turn), "
                  "each language's judge_prompts.jsonl", mode=mode.value)
    print(format_table(result))
    if out.value:
      atomic_write_json(os.path.join(out.value, "pairwise_results.json"), result)

  app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
  _cli()
