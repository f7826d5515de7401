"""Every model family on a tiny random checkpoint written by transformers: imported weights give
its PyTorch logits (on 1 device and sharded on 8), an export loads back into transformers with the
same logits, greedy decoding with the cache gives `generate`'s tokens past the sliding window,
packed rows attend within their example's window only; options itx does not implement are refused
by the config field's name; each family's chat template renders and masks training examples."""

import json

import flax.linen as nn
import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from itx import config as config_lib, sharding  # noqa: E402
from itx.data.chat import render_chat  # noqa: E402
from itx.data.tokenizer_training import train_bpe_tokenizer  # noqa: E402
from itx.generate import Generator, SamplingParams  # noqa: E402
from itx.hf import config_map, weights  # noqa: E402
from itx.models import ModelConfig  # noqa: E402
from itx.models.families import UnsupportedCheckpoint, network  # noqa: E402
from itx.train.state import param_shardings  # noqa: E402
from configs import base  # noqa: E402

# head_dim 24 != d_model / heads = 12: every family runs with an explicit head size.
SHAPE = dict(vocab_size=512, hidden_size=48, intermediate_size=96, num_hidden_layers=3,
             num_attention_heads=4, num_key_value_heads=2, head_dim=24, bos_token_id=1, pad_token_id=0)
WINDOW = 6
FAMILIES = {
    # Llama 3.1 rope scaling, with a pre-training length short enough that every band is rescaled.
    "llama3": (transformers.LlamaConfig, dict(rope_parameters=dict(
        rope_type="llama3", rope_theta=500000.0, factor=8.0, low_freq_factor=2.0, high_freq_factor=8.0,
        original_max_position_embeddings=16))),
    "llama-linear": (transformers.LlamaConfig, dict(rope_parameters=dict(rope_type="linear", rope_theta=10000.0,
                                                                         factor=4.0), tie_word_embeddings=True)),
    # Qwen3: q/k norms; a window on the layers from max_window_layers on.
    "qwen3": (transformers.Qwen3Config, dict(use_sliding_window=True, sliding_window=WINDOW, max_window_layers=1)),
    "mistral": (transformers.MistralConfig, dict(sliding_window=WINDOW)),
    # Phi-3: fused qkv_proj and gate_up_proj (split on import, fused on export); one window.
    "phi3": (transformers.Phi3Config, dict(sliding_window=WINDOW)),
    # Gemma 2: soft-caps small enough to bite on random weights; local layers alternate with global.
    "gemma2": (transformers.Gemma2Config, dict(sliding_window=WINDOW, query_pre_attn_scalar=32,
                                               attn_logit_softcapping=1.5, final_logit_softcapping=4.0)),
    # Gemma 3: q/k norms, per-layer rope (local base, scaled global base), a final soft-cap.
    "gemma3": (transformers.Gemma3TextConfig, dict(
        sliding_window=WINDOW, query_pre_attn_scalar=20, final_logit_softcapping=5.0,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                         "full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 1e6}})),
}
TOKENS = np.random.default_rng(0).integers(2, 512, (2, 24)).astype(np.int32)
PROMPTS = [[1, 40, 41, 42, 43], [1, 50, 51, 52, 53, 54, 55, 56, 57], [1, 60, 61]]


class Checkpoint:
  """A family's tiny transformers model, its directory, and itx's import of it on one device."""

  def __init__(self, name, root, eos_token_id):
    cls, extra = FAMILIES[name]
    self.hf_cfg = cls(**SHAPE, **extra, eos_token_id=eos_token_id)
    torch.manual_seed(0)
    self.model = transformers.AutoModelForCausalLM.from_config(self.hf_cfg).float().eval()
    with torch.no_grad():  # norms start at 1 (or 0 for Gemma's 1 + w): make every parameter matter
      for n, p in self.model.named_parameters():
        p.add_(torch.randn_like(p) * (0.3 if "norm" in n else 0.05))
    self.dir = str(root / name)
    self.model.save_pretrained(self.dir, max_shard_size="200KB")
    self.cfg = ModelConfig(**config_map.model_fields(config_map.read_config(self.dir)))
    self.params, self.mesh, self.rules = load(self.dir, self.cfg, (1, 1, 1), jax.devices()[:1])

  def torch_logits(self, tokens, model=None):
    with torch.no_grad():
      return (model or self.model)(torch.from_numpy(np.asarray(tokens, np.int64))).logits.numpy()


def load(hf_dir, cfg, mesh_axes, devices):
  c = base.get_config()
  c.mesh.data, c.mesh.fsdp, c.mesh.tensor = mesh_axes
  mesh, rules = sharding.make_mesh(c.mesh, devices), sharding.rules_from_config(c.mesh)
  abstract, shardings = param_shardings(network(cfg), mesh, rules)
  return weights.load_hf_params(hf_dir, cfg, abstract, shardings), mesh, rules


def logits(cfg, params, mesh, rules, tokens, segment_ids=None, positions=None):
  with jax.set_mesh(mesh), nn.logical_axis_rules(rules):
    return np.asarray(jax.jit(network(cfg).apply)({"params": params}, tokens, segment_ids, positions))


@pytest.fixture(scope="module", params=list(FAMILIES))
def checkpoint(request, tmp_path_factory, toy_tokenizer):
  return Checkpoint(request.param, tmp_path_factory.mktemp("families"), toy_tokenizer.eos_token_id)


def test_imported_weights_give_reference_logits_and_export_round_trips(checkpoint, tmp_path):
  ck = checkpoint
  reference = ck.torch_logits(TOKENS)
  diff = np.max(np.abs(logits(ck.cfg, ck.params, ck.mesh, ck.rules, TOKENS) - reference))
  print(f"{ck.cfg.family}: max |logit difference| = {diff:.2e} (logits up to {np.abs(reference).max():.1f})")
  assert diff <= 1e-4

  out = tmp_path / "export"
  out.mkdir()
  weights.save_hf_params(ck.params, ck.cfg, str(out))
  hf_cfg = config_map.hf_config(ck.cfg, config_map.read_config(ck.dir))  # as `itx export` writes it
  (out / "config.json").write_text(json.dumps(hf_cfg))
  assert ModelConfig(**config_map.model_fields(hf_cfg)) == ck.cfg  # the config maps back to the same model
  reloaded = transformers.AutoModelForCausalLM.from_pretrained(str(out)).float().eval()
  assert type(reloaded) is type(ck.model)
  diff = np.max(np.abs(ck.torch_logits(TOKENS, reloaded) - reference))
  print(f"{ck.cfg.family}: export round trip, max |logit difference| = {diff:.2e}")
  assert diff <= 1e-5


def test_run_config_carries_the_family_options(checkpoint):
  """An hf: init writes the options into `config.model`; a checkpoint stores that config as JSON
  and export rebuilds the model from it: the same ModelConfig at every stage."""
  fields = config_map.model_fields(config_map.read_config(checkpoint.dir))
  c = config_lib.resolved(base.get_config(), vocab_size=500, hf_fields=fields)
  stored = json.loads(json.dumps(c.to_dict()))
  assert ModelConfig.from_config(c.model) == ModelConfig.from_config(stored["model"]) == checkpoint.cfg


def test_sharded_load_on_eight_devices_equals_one_device(checkpoint):
  ck = checkpoint
  params, mesh, rules = load(ck.dir, ck.cfg, (2, 2, 2), jax.devices())
  q = params["layers"]["attn"]["q_proj"]["kernel"]
  assert len(q.sharding.device_set) == 8 and not q.sharding.is_fully_replicated
  single = logits(ck.cfg, ck.params, ck.mesh, ck.rules, TOKENS)
  diff = np.max(np.abs(logits(ck.cfg, params, mesh, rules, TOKENS) - single))
  print(f"{ck.cfg.family} on 8 devices (2x2x2): max |logit difference to 1 device| = {diff:.2e}")
  assert diff <= 1e-5


def test_greedy_decoding_equals_transformers_generate_past_the_window(checkpoint, toy_tokenizer):
  ck = checkpoint
  new = 16  # every prompt decodes well past the window
  ours = Generator(network(ck.cfg), ck.params, toy_tokenizer, length_bucket=8).generate(
      PROMPTS, SamplingParams(max_new_tokens=new))
  for prompt, out in zip(PROMPTS, ours):
    with torch.no_grad():
      ref = ck.model.generate(torch.tensor([prompt]), max_new_tokens=new, do_sample=False,
                              attention_mask=torch.ones(1, len(prompt), dtype=torch.long))
    assert len(prompt) + len(out) > 2 * WINDOW
    assert out == ref[0, len(prompt):].tolist()


def test_packed_rows_attend_within_their_example_and_window(checkpoint):
  """Row 0 packs examples a (14 tokens) and b (10); rows 1 and 2 hold each alone, padded."""
  ck = checkpoint
  a, b = TOKENS[0, :14], TOKENS[1, :10]
  tokens = np.zeros((3, 24), np.int32)
  segments = np.zeros((3, 24), np.int32)
  positions = np.zeros((3, 24), np.int32)
  tokens[0], segments[0], positions[0] = np.r_[a, b], np.r_[[1] * 14, [2] * 10], np.r_[np.arange(14), np.arange(10)]
  for row, ex in ((1, a), (2, b)):
    tokens[row, :len(ex)], segments[row, :len(ex)], positions[row, :len(ex)] = ex, 1, np.arange(len(ex))
  out = logits(ck.cfg, ck.params, ck.mesh, ck.rules, tokens, segments, positions)
  np.testing.assert_allclose(out[0, :14], out[1, :14], atol=1e-5)
  np.testing.assert_allclose(out[0, 14:], out[2, :10], atol=1e-5)
  np.testing.assert_allclose(out[1, :14], ck.torch_logits(a[None])[0], atol=1e-4)


def test_older_config_formats_map_to_the_same_model():
  """Checkpoints saved by transformers 4 write rope_theta + rope_scaling (and Gemma 3 its
  rope_local_base_freq and sliding_window_pattern) instead of rope_parameters and layer_types."""
  new = config_map.model_fields(transformers.LlamaConfig(**SHAPE, **FAMILIES["llama3"][1]).to_dict())
  params = dict(FAMILIES["llama3"][1]["rope_parameters"])
  old = transformers.LlamaConfig(**SHAPE).to_dict()
  del old["rope_parameters"]
  old.update(rope_theta=params.pop("rope_theta"), rope_scaling=params)
  assert config_map.model_fields(old) == new

  gemma3 = transformers.Gemma3TextConfig(**{**SHAPE, "num_hidden_layers": 6}, sliding_window=WINDOW,
                                         rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 1e4},
                                                          "full_attention": {"rope_type": "linear", "factor": 8.0,
                                                                             "rope_theta": 1e6}}).to_dict()
  new = config_map.model_fields(gemma3)
  assert new["layer_types"] == ("sliding_attention",) * 5 + ("full_attention",)  # Gemma 3's 5 local : 1 global
  for k in ("rope_parameters", "layer_types", "_sliding_window_pattern"):
    del gemma3[k]
  gemma3.update(rope_theta=1e6, rope_local_base_freq=1e4, rope_scaling={"rope_type": "linear", "factor": 8.0},
                sliding_window_pattern=6)
  assert config_map.model_fields(gemma3) == new


def test_qwen_window_is_off_unless_use_sliding_window():
  fields = config_map.model_fields({**transformers.Qwen3Config(**SHAPE).to_dict(), "sliding_window": 4096,
                                    "layer_types": None})
  assert fields["sliding_window"] == 0 and not any(ModelConfig(**fields).sliding_layers)


REFUSED = {  # a pattern of the refusal (naming the field) -> a config.json
    "rope_parameters has rope_type 'yarn'": transformers.LlamaConfig(
        **SHAPE, rope_parameters=dict(rope_type="yarn", rope_theta=1e4, factor=4.0)).to_dict(),
    "rope_scaling has rope_type 'dynamic'": {
        **{k: v for k, v in transformers.LlamaConfig(**SHAPE).to_dict().items() if k != "rope_parameters"},
        "rope_theta": 1e4, "rope_scaling": {"type": "dynamic", "factor": 2.0}},
    "partial_rotary_factor": transformers.LlamaConfig(
        **SHAPE, rope_parameters=dict(rope_type="default", rope_theta=1e4, partial_rotary_factor=0.5)).to_dict(),
    "num_local_experts": transformers.MixtralConfig(**SHAPE).to_dict(),
    "num_(local_)?experts": transformers.Qwen3MoeConfig(**SHAPE).to_dict(),
    "vision_config": transformers.Gemma3Config(text_config=dict(SHAPE)).to_dict(),
    "attn_logit_softcapping": transformers.Gemma3TextConfig(**SHAPE, attn_logit_softcapping=50.0).to_dict(),
    "use_bidirectional_attention": transformers.Gemma2Config(**SHAPE, use_bidirectional_attention=True).to_dict(),
    "attention_bias": transformers.Qwen3Config(**SHAPE, attention_bias=True).to_dict(),
    # Phi-3-mini-128k's long-context rope: two per-frequency factor lists itx does not implement.
    "rope_parameters has rope_type 'longrope'": transformers.Phi3Config(**SHAPE, rope_parameters=dict(
        rope_type="longrope", rope_theta=1e4, short_factor=[1.0] * 6, long_factor=[2.0] * 6,
        original_max_position_embeddings=16), max_position_embeddings=64).to_dict(),
    "hidden_activation 'gelu'": transformers.Gemma2Config(**SHAPE, hidden_activation="gelu").to_dict(),
}


@pytest.mark.parametrize("pattern", list(REFUSED))
def test_unimplemented_options_are_refused_at_import_by_field_name(pattern):
  with pytest.raises(UnsupportedCheckpoint, match=f"ckpt/config.json: .*{pattern}"):
    config_map.model_fields(REFUSED[pattern], where="ckpt/config.json")


@pytest.mark.parametrize("family, option", [
    ("llama", dict(qk_norm=True)), ("mistral", dict(post_norms=True)), ("qwen2", dict(qkv_bias=False)),
    ("gemma2", dict(rope_local_theta=1e4)), ("gemma3_text", dict(attn_logit_softcap=50.0)),
    ("llama", dict(sliding_window=8)),
    ("mistral", dict(layer_types=("full_attention", "sliding_attention"), sliding_window=8)),
    ("phi3", dict(rope_scaling="linear", rope_factor=2.0)), ("phi3", dict(qkv_bias=True))])
def test_export_refuses_options_the_family_cannot_hold(family, option):
  fixed = dict(config_map.family(family).fixed)
  cfg = ModelConfig(vocab_size=64, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, mlp_dim=64, family=family,
                    **{**fixed, **option})
  with pytest.raises(UnsupportedCheckpoint, match=f"model.{next(iter(option))}"):
    config_map.hf_config(cfg)


# Each family's chat-template style, as its instruction-tuned tokenizers ship it.
TEMPLATES = {
    "llama3": ({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
               "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n'"
               " + m['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}"
               "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"),
    "qwen": ({"bos_token": "<|endoftext|>", "eos_token": "<|im_end|>"},
             "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
             "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"),
    "gemma": ({"bos_token": "<bos>", "eos_token": "<eos>", "additional": ("<start_of_turn>", "<end_of_turn>")},
              "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'assistant' %}{% set role = 'model' %}"
              "{% else %}{% set role = m['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + m['content'] | trim"
              " + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"),
    "mistral": ({"bos_token": "<s>", "eos_token": "</s>"},
                "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + "
                "' [/INST]' }}{% else %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}"),
}
CHAT = [{"role": "user", "content": "Translate into German: the red house."},
        {"role": "assistant", "content": "Das rote Haus."},
        {"role": "user", "content": "And into French?"},
        {"role": "assistant", "content": "La maison rouge."}]


@pytest.mark.parametrize("style", list(TEMPLATES))
def test_chat_template_renders_and_masks_exactly_the_assistant_turns(style, tmp_path):
  specials, template = TEMPLATES[style]
  tokens = {"pad_token": "<pad>", "unk_token": "<unk>", **{k: v for k, v in specials.items() if k != "additional"}}
  texts = [m["content"] for m in CHAT] * 20
  tok = train_bpe_tokenizer(texts, str(tmp_path), vocab_size=300, chat_template=template, special_tokens=tokens)
  if "additional" in specials:
    tok.add_special_tokens({"additional_special_tokens": list(specials["additional"])})
  ids, target = render_chat(tok, CHAT)
  assert ids.tolist() == list(tok.apply_chat_template(CHAT, tokenize=True, return_dict=False))
  end = tok.convert_tokens_to_ids("<end_of_turn>" if style == "gemma" else tokens["eos_token"])
  runs = np.split(np.nonzero(target)[0], np.nonzero(np.diff(np.nonzero(target)[0]) > 1)[0] + 1)
  answers = [m["content"] for m in CHAT if m["role"] == "assistant"]
  assert len(runs) == len(answers)
  for run, answer in zip(runs, answers):  # each turn: its answer's tokens, then the end-of-turn token
    assert ids[run[-1]] == end
    assert tok.decode(ids[run[:-1]]).strip() == answer


def test_peft_adapters_of_fused_phi3_projections_are_refused_by_name():
  """PEFT adapts Phi-3's fused qkv_proj / gate_up_proj as one module: itx's separate q, k, v (gate,
  up) adapters have no faithful PEFT form there, so writing or reading one is refused."""
  from itx.hf import peft
  cfg = ModelConfig(vocab_size=64, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, mlp_dim=64, family="phi3")
  with pytest.raises(UnsupportedCheckpoint, match="qkv_proj, gate_up_proj|gate_up_proj, qkv_proj"):
    peft._modules(cfg)
  assert peft._modules(ModelConfig(vocab_size=64, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, mlp_dim=64))
