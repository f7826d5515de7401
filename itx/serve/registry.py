"""What a server serves: loaded runs, each with its engine, and the groups of each run.

A run named NAME is the model id `NAME`; each of its groups is `NAME:GROUP`. Groups come from the
run's config: `config.lora.adapters` (one adapter of a bank per group) or `config.data.groups` (tag
conditioning: the group is named in the system prompt, `itx.data.conditioning.system_prompt`).
"""

from __future__ import annotations

import dataclasses

from itx.serve.engine import Engine
from itx.serve.kernels import Kernels


@dataclasses.dataclass
class ServedRun:
  name: str
  engine: Engine
  tokenizer: object
  groups: tuple[str, ...] = ()     # tag conditioning
  adapters: tuple[str, ...] = ()   # a bank of LoRA adapters, one per group
  workdir: str = ""

  @property
  def max_len(self) -> int:
    return self.engine.max_len


@dataclasses.dataclass(frozen=True)
class ServedModel:
  """One model id: a run, optionally with a group (by tag or by adapter)."""
  id: str
  run: ServedRun
  group: str | None = None
  conditioning: str | None = None  # None, "tag" or "adapter"

  @property
  def adapter(self) -> int:
    """The row's adapter index (itx.models.lora): the group's position in the bank; for the run
    itself, its one adapter (or none: 0 is then ignored), or -1, the base alone, for a bank."""
    if self.conditioning == "adapter":
      return self.run.adapters.index(self.group)
    return -1 if len(self.run.adapters) > 1 else 0

  def card(self) -> dict:
    return {"id": self.id, "object": "model", "created": 0, "owned_by": "itx", "run": self.run.name,
            "group": self.group, "conditioning": self.conditioning, "max_len": self.run.max_len}


def run_groups(config) -> tuple[tuple[str, ...], tuple[str, ...]]:
  """(tag groups, adapter groups) named by a run's config; both fields are optional."""
  lora = config.get("lora", None)
  adapters = tuple(lora.get("adapters", ()) or ()) if lora is not None else ()
  data = config.get("data", None)
  groups = tuple(data.get("groups", ()) or ()) if data is not None else ()
  return groups, adapters


def serve_loaded_run(name: str, run, *, slots: int = 16, max_len: int | None = None, max_waiting: int = 256,
                     groups: tuple[str, ...] | None = None, workdir: str = "", warm_up: bool = True) -> ServedRun:
  """A ServedRun of an `itx.inference.LoadedRun` (its engine not started yet). max_len defaults to
  the run's training sequence length; `groups` overrides the config's tag groups; warm_up: the engine
  compiles every shape when it starts, before the server reports healthy (Kernels.warm_up)."""
  shards = run.mesh.shape["data"] * run.mesh.shape["fsdp"]
  slots = -(-slots // shards) * shards
  max_len = max_len or int(run.config.data.seq_len)
  kernels = Kernels(run.model, run.params, slots=slots, max_len=max_len, mesh=run.mesh, rules=run.rules,
                    batch_multiple=shards)
  engine = Engine(kernels, run.tokenizer, max_waiting=max_waiting, warm_up=warm_up, name=name)
  tags, adapters = run_groups(run.config)
  return ServedRun(name, engine, run.tokenizer, tuple(groups) if groups is not None else tags, adapters, workdir)


def model_table(runs: list[ServedRun]) -> dict[str, ServedModel]:
  """Every model id the server answers to, in listing order; raises ValueError on a clash."""
  table: dict[str, ServedModel] = {}

  def add(m: ServedModel):
    if m.id in table:
      raise ValueError(f"model id {m.id!r} is served twice")
    table[m.id] = m

  for run in runs:
    if not run.name or ":" in run.name:
      raise ValueError(f"run name {run.name!r}: expected a non-empty name without ':'")
    add(ServedModel(run.name, run))
    for g in run.groups:
      add(ServedModel(f"{run.name}:{g}", run, g, "tag"))
    for a in run.adapters:
      add(ServedModel(f"{run.name}:{a}", run, a, "adapter"))
  return table

