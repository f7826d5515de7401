// The comparison page: one question, the answers of every chosen model (a run, or a group of a run)
// streamed side by side from the server's /v1/chat/completions.
"use strict";

const $ = (id) => document.getElementById(id);
let info = null;
let running = [];  // AbortControllers of the answers being streamed

function headers() {
  const h = {"Content-Type": "application/json"};
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function showBanner(message, busy) {
  const b = $("banner");
  b.textContent = message;
  b.className = busy ? "banner busy" : "banner";
  b.hidden = !message;
}

async function loadInfo() {
  try {
    const r = await fetch("/info");
    if (!r.ok) throw new Error("HTTP " + r.status);
    info = await r.json();
  } catch (e) {
    $("server-status").textContent = "Cannot reach the server (" + e.message + "). Reload the page once it runs.";
    $("submit").disabled = true;
    return;
  }
  const runs = [...new Set(info.models.map((m) => m.run))];
  $("server-status").textContent = runs.length + (runs.length === 1 ? " run" : " runs") + " loaded: " +
      runs.join(", ") + " · " + info.models.length + " models";
  const list = $("choice-list");
  list.replaceChildren();
  for (const run of runs) {
    const models = info.models.filter((m) => m.run === run);
    if (runs.length > 1 || models.length > 1) {
      const t = document.createElement("div");
      t.className = "run-title";
      t.textContent = "Run " + run;
      list.append(t);
    }
    for (const m of models) {
      const l = document.createElement("label");
      l.className = "choice";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = m.id;
      box.name = "model";
      l.append(box, document.createTextNode(m.group ? m.group : (models.length > 1 ? run + " · no group" : run)));
      l.title = m.id;
      list.append(l);
    }
  }
  const lang = $("language");
  lang.replaceChildren();
  for (const l of info.languages) {
    const o = document.createElement("option");
    o.value = l.code;
    o.textContent = l.name + " (" + l.code + ")";
    lang.append(o);
  }
  const examples = $("examples");
  examples.replaceChildren();
  for (const task of (info.examples || {tasks: []}).tasks) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "example";
    b.dataset.task = task.id;
    b.textContent = task.label;
    b.title = "Ask this task in the chosen language, to every ticked model";
    b.addEventListener("click", () => {
      const prompts = info.examples.prompts[$("language").value] || info.examples.prompts.en;
      $("question").value = prompts[task.id];
      $("ask").requestSubmit();
    });
    examples.append(b);
  }
  $("max-tokens").max = info.max_tokens;
  $("max-tokens").value = Math.min(parseInt($("max-tokens").value, 10) || 128, info.max_tokens);
  $("key-box").hidden = !info.auth;
  $("api-key").value = localStorage.getItem("itx-api-key") || "";
}

function column(model) {
  const card = document.createElement("section");
  card.className = "answer streaming";
  card.dataset.model = model;
  const h = document.createElement("h2");
  const [run, group] = model.includes(":") ? [model.slice(0, model.indexOf(":")), model.slice(model.indexOf(":") + 1)] : [model, null];
  const name = document.createElement("span");
  name.textContent = group || run;
  const sub = document.createElement("span");
  sub.className = "run";
  sub.textContent = group ? run : "";
  h.append(name, sub);
  const text = document.createElement("div");
  text.className = "text";
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = "waiting…";
  card.append(h, text, meta);
  return {card, text, meta};
}

function describe(status, body) {
  const message = body && body.error ? body.error.message : "HTTP " + status;
  if (status === 503 || status === 429) return {busy: true, message: "The server is busy (" + message + "). Try again in a moment."};
  if (status === 401) return {busy: false, message: "The server wants an API key: " + message};
  return {busy: false, message: "The request failed: " + message};
}

async function answer(model, question, settings, col) {
  const ctrl = new AbortController();
  running.push(ctrl);
  const start = performance.now();
  let first = null, tokens = 0, text = "", usage = null;
  const seconds = (t) => ((t - start) / 1000).toFixed(1) + " s";
  const update = (final) => {
    const parts = [];
    if (first !== null) parts.push("first token " + seconds(first));
    parts.push((usage ? usage.completion_tokens : tokens) + " tokens");
    parts.push(seconds(performance.now()));
    col.meta.textContent = (final ? "" : "streaming · ") + parts.join(" · ");
  };
  try {
    const r = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(), signal: ctrl.signal,
      body: JSON.stringify({model, messages: [{role: "user", content: question}], stream: true,
                            stream_options: {include_usage: true}, language: settings.language,
                            max_tokens: settings.maxTokens, temperature: settings.temperature})});
    if (!r.ok) {
      const d = describe(r.status, await r.json().catch(() => null));
      throw Object.assign(new Error(d.message), {busy: d.busy});
    }
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", done = false;
    while (!done) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut).trim();
        buffer = buffer.slice(cut + 2);
        if (!event.startsWith("data:")) continue;
        const data = event.slice(5).trim();
        if (data === "[DONE]") { done = true; break; }
        const obj = JSON.parse(data);
        if (obj.error) throw new Error("The answer failed: " + obj.error.message);
        if (obj.usage) usage = obj.usage;
        for (const c of obj.choices || []) {
          if (c.delta && c.delta.content) {
            if (first === null) first = performance.now();
            text += c.delta.content;
            tokens += 1;
            col.text.textContent = text;
          }
        }
        update(false);
      }
    }
    if (!text) col.text.textContent = "(empty answer)";
    col.card.classList.remove("streaming");
    update(true);
  } catch (e) {
    col.card.classList.remove("streaming");
    col.card.classList.add("failed");
    col.text.textContent = e.name === "AbortError" ? (text || "") + " [stopped]" : e.message;
    col.meta.textContent = e.name === "AbortError" ? "stopped after " + seconds(performance.now()) : "failed";
    if (e.name !== "AbortError") showBanner(e.message, e.busy);
  }
}

async function submit(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  const models = [...document.querySelectorAll("#choice-list input:checked")].map((b) => b.value);
  if (!question) { $("form-message").textContent = "Type a question first."; return; }
  if (!models.length) { $("form-message").textContent = "Tick at least one group or run."; return; }
  const maxTokens = parseInt($("max-tokens").value, 10), temperature = parseFloat($("temperature").value);
  if (!(maxTokens >= 1)) { $("form-message").textContent = "Max tokens must be at least 1."; return; }
  if (!(temperature >= 0 && temperature <= 2)) { $("form-message").textContent = "Temperature must be between 0 and 2."; return; }
  localStorage.setItem("itx-api-key", $("api-key").value.trim());
  showBanner("");
  $("form-message").textContent = "Answering " + models.length + (models.length === 1 ? " model…" : " models…");
  $("submit").disabled = true;
  $("stop").disabled = false;
  const settings = {language: $("language").value, maxTokens, temperature};
  const answers = $("answers");
  answers.replaceChildren();
  running = [];
  const jobs = models.map((m) => {
    const col = column(m);
    answers.append(col.card);
    return answer(m, question, settings, col);
  });
  await Promise.all(jobs);
  $("submit").disabled = false;
  $("stop").disabled = true;
  $("form-message").textContent = "Done.";
}

function setAll(value) {
  for (const b of document.querySelectorAll("#choice-list input")) b.checked = value;
}

$("ask").addEventListener("submit", submit);
$("stop").addEventListener("click", () => running.forEach((c) => c.abort()));
$("select-all").addEventListener("click", () => setAll(true));
$("select-none").addEventListener("click", () => setAll(false));
$("question").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("ask").requestSubmit();
});
loadInfo();
