"""The server as its users reach it: the official `openai` Python client, and lm-evaluation-harness's
`local-completions` model running a small local task file (log-likelihoods equal a direct forward
pass of the model)."""


import jax
import numpy as np
import pytest

from serve_support import groups_run, loaded, served  # noqa: F401  (session fixtures)

openai = pytest.importorskip("openai")
CHAT = [{"role": "user", "content": "Name a weekday."}]


def test_openai_client_models_chat_stream_and_errors(served):  # noqa: F811
  url, _ = served
  client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=120)
  assert "tiny:liberal" in [m.id for m in client.models.list()]
  reply = client.chat.completions.create(model="tiny:liberal", messages=CHAT, max_tokens=8, temperature=0, seed=1)
  assert reply.choices[0].message.role == "assistant" and reply.usage.completion_tokens >= 1
  pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
      model="tiny:liberal", messages=CHAT, max_tokens=8, temperature=0, seed=1, stream=True) if c.choices]
  assert "".join(pieces) == reply.choices[0].message.content
  done = client.completions.create(model="plain", prompt="The cat", max_tokens=4, logprobs=2, temperature=0)
  assert len(done.choices[0].logprobs.token_logprobs) == done.usage.completion_tokens
  with pytest.raises(openai.NotFoundError) as e:
    client.chat.completions.create(model="nope", messages=CHAT)
  assert e.value.status_code == 404 and "nope" in e.value.message
  with pytest.raises(openai.BadRequestError) as e:
    client.chat.completions.create(model="plain", messages=CHAT, temperature=5)
  assert e.value.body["param"] == "temperature"


TASKS = """\
task: itx_tiny_choice
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{answer}}}}"
metric_list:
  - metric: acc
"""
GENERATE = """\
task: itx_tiny_generate
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "{{{{question}}}}"
doc_to_target: "{{{{choices[answer]}}}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 6
metric_list:
  - metric: exact_match
"""
DOCS = [("Which is a weekday?", ["Monday", "River", "Seven"], 0), ("2 plus 3 is", ["five", "nine"], 0),
        ("The capital of France is", ["Rome", "Paris", "Berlin"], 1)]


def test_lm_evaluation_harness_local_completions(served, loaded, tmp_path, monkeypatch):  # noqa: F811
  import json
  lm_eval = pytest.importorskip("lm_eval")
  from lm_eval.tasks import TaskManager
  monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
  monkeypatch.setenv("HF_HUB_OFFLINE", "1")
  monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
  data = tmp_path / "docs.jsonl"
  data.write_text("".join(json.dumps({"question": q, "choices": c, "answer": a}) + "\n" for q, c, a in DOCS))
  (tmp_path / "choice.yaml").write_text(TASKS.format(data=data))
  (tmp_path / "generate.yaml").write_text(GENERATE.format(data=data))
  url, _ = served
  tok = loaded.tokenizer
  out = lm_eval.simple_evaluate(
      model="local-completions", tasks=["itx_tiny_choice", "itx_tiny_generate"],
      model_args={"model": "plain", "base_url": url + "/v1/completions", "tokenizer_backend": "huggingface",
                  "tokenizer": tok.name_or_path, "max_length": 512, "num_concurrent": 2, "max_retries": 1},
      task_manager=TaskManager(include_path=str(tmp_path)), log_samples=True)
  assert 0.0 <= out["results"]["itx_tiny_choice"]["acc,none"] <= 1.0
  assert len(out["samples"]["itx_tiny_generate"]) == len(DOCS)
  assert all(isinstance(s["resps"][0][0], str) for s in out["samples"]["itx_tiny_generate"])
  # Each choice's log-likelihood is the model's, computed here with one forward pass.
  checked = 0
  for sample in out["samples"]["itx_tiny_choice"]:
    for (context, continuation), ((ll, _),) in zip([a for a in sample["arguments"]], sample["resps"]):
      ctx = tok(context, add_special_tokens=False)["input_ids"]
      whole = tok(context + continuation, add_special_tokens=False)["input_ids"]
      with loaded.generator()._context():
        logits = loaded.model.apply({"params": loaded.params}, np.asarray([whole] * 8, np.int32))
      logp = np.asarray(jax.nn.log_softmax(logits[0], axis=-1))
      expected = sum(logp[t - 1, whole[t]] for t in range(len(ctx), len(whole)))
      assert abs(ll - expected) < 1e-3 * max(1.0, abs(expected)), (context, continuation)
      checked += 1
  assert checked == sum(len(c) for _, c, _ in DOCS)
