"""The real model, Gemma 3 270M (262,144-token vocabulary), itx against transformers (+ peft), one
script, one run: LoRA (rank 16, alpha 16, the seven projections) and full fine-tuning tokens/s and
peak resident memory at 4 x 256 and 2 x 1,024 tokens (AdamW, every token a target, float32); greedy
decoding tokens/s at batch 1, 8 and 32 (64-token prompts, 128 new tokens), prefill time and time to
first token; chat-record tokenization records/s. Prints every ratio.

Each measurement runs in a fresh process of this script (`--worker`), so peak memory is that
measurement's own (ru_maxrss); the ratios compare runs of the same script, one after the other.

  python benchmarks/real_model.py [--only=tokenize,train,decode] [--steps=3]
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

TRAIN_SHAPES = ((4, 256), (2, 1024))
DECODE_BATCHES = (1, 8, 32)
PROMPT, NEW = 64, 128


def checkpoint() -> str:
  from itx.hf.gguf_import import cached_import
  return cached_import("builtin:gemma3-270m")


def peak_gb() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def tokens(rows, length, vocab=262144, seed=0):
  import numpy as np
  return np.random.default_rng(seed).integers(3, vocab, (rows, length)).astype(np.int32)


def itx_train(mode: str, rows: int, length: int, steps: int) -> dict:
  import jax
  import numpy as np
  from configs import gemma3_270m
  from itx import sharding
  from itx.train.assemble import assemble
  from itx.train.loop import resolve, _lora_base, _initial_state
  c = gemma3_270m.get_config()
  c.model.init_from = f"hf:{checkpoint()}"
  c.data.seq_len = length
  c.train.update(batch_size=rows, steps=100, warmup_steps=1)
  if mode == "full":
    c.lora.rank = 0
  c, _ = resolve(c)
  mesh = sharding.make_mesh(c.mesh)
  run = assemble(c, mesh)
  import tempfile
  scratch = tempfile.mkdtemp()
  state = _lora_base(c, run, scratch)[0] if mode == "lora" else _initial_state(c, run, scratch)
  x = tokens(rows, length + 1)
  batch = run.put({"inputs": x[:, :-1], "targets": x[:, 1:], "weights": np.ones((rows, length), np.float32),
                   "segment_ids": np.ones((rows, length), np.int32),
                   "positions": np.tile(np.arange(length, dtype=np.int32), (rows, 1))})
  state, metrics = run.step(state, batch)
  jax.block_until_ready(metrics)
  t = time.perf_counter()
  for _ in range(steps):
    state, metrics = run.step(state, batch)
  jax.block_until_ready(metrics)
  return {"tokens_per_s": rows * length * steps / (time.perf_counter() - t), "loss": float(metrics["loss"])}


def torch_train(mode: str, rows: int, length: int, steps: int) -> dict:
  import torch
  import transformers
  torch.manual_seed(0)
  model = transformers.AutoModelForCausalLM.from_pretrained(checkpoint(), dtype=torch.float32)
  if mode == "lora":
    import peft
    model = peft.get_peft_model(model, peft.LoraConfig(
        r=16, lora_alpha=16, lora_dropout=0.0,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
  model.train()
  opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5, weight_decay=0.0)
  x = torch.from_numpy(tokens(rows, length).astype("int64"))

  def step():
    loss = model(input_ids=x, labels=x).loss
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss

  step()
  t = time.perf_counter()
  for _ in range(steps):
    loss = step()
  return {"tokens_per_s": rows * length * steps / (time.perf_counter() - t), "loss": float(loss)}


def itx_decode(batch: int, dtype: str) -> dict:
  from itx.generate import SamplingParams
  from itx.inference import load_checkpoint
  run = load_checkpoint(checkpoint(), max_len=PROMPT + NEW, dtype=dtype)
  gen = run.generator()
  prompts = [list(p) for p in tokens(batch, PROMPT)]
  never = SamplingParams(max_new_tokens=NEW)
  gen.generate(prompts, never)  # compiles prefill and the decode loop
  gen.generate(prompts, SamplingParams(max_new_tokens=1))
  t = time.perf_counter()
  gen.generate(prompts, SamplingParams(max_new_tokens=1))
  first = time.perf_counter() - t
  t = time.perf_counter()
  out = gen.generate(prompts, never)
  total = time.perf_counter() - t
  return {"tokens_per_s": sum(len(o) for o in out) / total, "first_token_s": first, "new_tokens": len(out[0])}


def torch_decode(batch: int, dtype: str) -> dict:
  import torch
  import transformers
  model = transformers.AutoModelForCausalLM.from_pretrained(
      checkpoint(), dtype=torch.bfloat16 if dtype == "bfloat16" else torch.float32).eval()
  x = torch.from_numpy(tokens(batch, PROMPT).astype("int64"))
  kw = dict(do_sample=False, eos_token_id=None, pad_token_id=0)
  with torch.no_grad():
    model.generate(x, max_new_tokens=4, min_new_tokens=4, **kw)
    t = time.perf_counter()
    model.generate(x, max_new_tokens=1, min_new_tokens=1, **kw)
    first = time.perf_counter() - t
    t = time.perf_counter()
    out = model.generate(x, max_new_tokens=NEW, min_new_tokens=NEW, **kw)
    total = time.perf_counter() - t
  return {"tokens_per_s": batch * (out.shape[1] - PROMPT) / total, "first_token_s": first}


def tokenize_rate() -> dict:
  import json as js
  from itx import worlds
  from itx.data import templates
  from itx.data.chat import load_tokenizer, render_chat
  tok = templates.apply(load_tokenizer(checkpoint()), "gemma")
  with open(worlds.resolve_path("builtin:polyglot/limax/train_limax_EN.jsonl")) as f:
    chats = [js.loads(line)["messages"] for line in f]
  render_chat(tok, chats[0])
  t = time.perf_counter()
  for m in chats:
    render_chat(tok, m)
  return {"records_per_s": len(chats) / (time.perf_counter() - t), "records": len(chats)}


WORKERS = {"itx_train": itx_train, "torch_train": torch_train, "itx_decode": itx_decode, "torch_decode": torch_decode}


def worker(name: str, args: list) -> dict:
  out = WORKERS[name](*args)
  out["peak_rss_gb"] = peak_gb()
  return out


def spawn(name: str, *args) -> dict:
  cmd = [sys.executable, __file__, "--worker", json.dumps([name, list(args)])]
  proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
  if proc.returncode:
    raise RuntimeError(f"{name}{args} failed:\n{proc.stderr[-3000:]}")
  return json.loads(proc.stdout.strip().splitlines()[-1])


def main(only: set[str], steps: int) -> None:
  checkpoint()  # imported once, before any timing
  if "tokenize" in only:
    r = tokenize_rate()
    print(f"tokenization: {r['records_per_s']:,.0f} chat records/s ({r['records']} polyglot EN chats, Gemma template)")
  if "train" in only:
    print(f"\n{'training':<22}{'itx tok/s':>11}{'torch tok/s':>13}{'ratio':>8}{'itx GB':>9}{'torch GB':>10}{'mem ratio':>11}")
    for mode in ("lora", "full"):
      for rows, length in TRAIN_SHAPES:
        a, b = spawn("itx_train", mode, rows, length, steps), spawn("torch_train", mode, rows, length, steps)
        print(f"{mode + f' {rows}x{length}':<22}{a['tokens_per_s']:>11.1f}{b['tokens_per_s']:>13.1f}"
              f"{a['tokens_per_s'] / b['tokens_per_s']:>8.2f}{a['peak_rss_gb']:>9.2f}{b['peak_rss_gb']:>10.2f}"
              f"{a['peak_rss_gb'] / b['peak_rss_gb']:>11.2f}", flush=True)
  if "decode" in only:
    print(f"\n{'greedy decoding':<22}{'itx tok/s':>11}{'torch tok/s':>13}{'ratio':>8}{'itx TTFT s':>12}{'torch TTFT s':>14}")
    for dtype in ("float32", "bfloat16"):
      for batch in DECODE_BATCHES:
        a, b = spawn("itx_decode", batch, dtype), spawn("torch_decode", batch, dtype)
        print(f"{dtype + f' batch {batch}':<22}{a['tokens_per_s']:>11.1f}{b['tokens_per_s']:>13.1f}"
              f"{a['tokens_per_s'] / b['tokens_per_s']:>8.2f}{a['first_token_s']:>12.3f}{b['first_token_s']:>14.3f}",
              flush=True)


if __name__ == "__main__":
  if len(sys.argv) == 3 and sys.argv[1] == "--worker":
    name, args = json.loads(sys.argv[2])
    print(json.dumps(worker(name, args)))
  else:
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--only", default="tokenize,train,decode")
    p.add_argument("--steps", type=int, default=3)
    a = p.parse_args()
    main(set(a.only.split(",")), a.steps)
