"""The opinion world's other ability: polyglot tasks, so that tuning on the groups' opinions has
something to cost. OpinionGPT tunes an instruction-capable base (Phi-3-mini-instruct); the opinion
world's base learns its threads AND the polyglot world's instruction chats, and a held-out set of
polyglot questions (with their rule-checkable reference answers) measures what each condition's
tuning leaves of that ability.

Written under `tasks/` in the polyglot world's own layouts (itx.worlds.polyglot):
  tasks/limax/train_limax_<CFG>.jsonl                   instruction chats (training families only)
  tasks/mt_bench/mt_bench_<LANG>/question.jsonl          two-turn questions: other instances, and the
  tasks/mt_bench/mt_bench_<LANG>/reference_answer/reference.jsonl   polyglot world's held-out families
"""

from __future__ import annotations

import os

from itx.worlds.locale_data import LANGS
from itx.worlds.polyglot import layouts
from itx.worlds.polyglot.compose import plan_world
from itx.worlds.polyglot.settings import PolyglotSettings

TASKS = "tasks"
CHATS = os.path.join(TASKS, "limax", "train_limax_EN_DE_FR_IT_ES.jsonl")  # every instance in every language
BENCH = os.path.join(TASKS, "mt_bench")


def write_tasks(out_dir: str, *, seed: int, instances: int, eval_per_family: int) -> tuple[dict, list[list[dict]]]:
  """Writes tasks/ into `out_dir`; returns ({counts}, the training chats' messages, for the tokenizer).
  instances: training task instances (each a chat in all five languages); eval_per_family: held-out
  questions per polyglot task family (16 families) and language."""
  settings = PolyglotSettings(seed=seed, limax_train=instances, limax_val=0, bactrian_per_language=0,
                              eval_per_family=eval_per_family)
  plan = plan_world(settings)
  renderer = layouts.Renderer(settings.seed)
  root = os.path.join(out_dir, TASKS)
  counts = {"limax": layouts.write_limax(root, renderer, {"train": plan.limax_train}, settings.two_turn_fraction),
            "mt_bench": layouts.write_mt_bench(root, renderer, plan.eval, plan.heldout_families),
            "heldout_families": plan.heldout_families}
  chats = [layouts.chat_record(renderer, inst, lang, 2)["messages"] for inst in plan.limax_train for lang in LANGS]
  return counts, chats
