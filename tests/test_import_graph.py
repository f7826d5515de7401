"""itx's import graph: no cycles, and no module imports a package that sits above it in the
pipeline (config -> data -> datasets -> train -> eval -> serving and experiments).

Every import counts, the ones inside functions too: a lazy import hides a dependency from start-up
time, not from the design.
"""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Longest matching prefix wins. A module may import modules of its own rank or lower.
RANKS = {
    "itx.models": 0,
    "itx.sharding": 1, "itx.config": 1, "itx.cli": 1,
    # leaf modules the config resolves names with (they import nothing of itx above rank 0)
    "itx.data.templates": 1, "itx.data.files": 1, "itx.hf.gguf_import": 1, "itx.eval.language_id": 1,
    "itx.data": 2,
    "itx.worlds": 3,
    "itx.datasets": 4,
    "itx.hf": 5,
    "itx.train": 6,
    "itx.generate": 7, "itx.inference": 7, "itx.hf.export": 7, "itx.hf.adapters": 7, "itx.hf.__main__": 7,
    "itx.eval": 8, "itx.evaluate": 8,
    "itx.serve": 9, "itx.results": 9, "itx.curate": 9,
    "itx.main": 10, "itx.stats": 10,
    "experiments": 11,
}


def rank(module: str) -> int:
  best = max((p for p in RANKS if module == p or module.startswith(p + ".")), key=len, default=None)
  assert best is not None, f"{module} has no rank: add its package to RANKS"
  return RANKS[best]


def modules() -> dict[str, str]:
  out = {}
  for top in ("itx", "experiments"):
    for folder, _, files in os.walk(os.path.join(ROOT, top)):
      for f in files:
        if f.endswith(".py"):
          rel = os.path.relpath(os.path.join(folder, f), ROOT)[:-3].replace(os.sep, ".")
          out[rel.removesuffix(".__init__")] = os.path.join(folder, f)
  return out


def imports(path: str, module: str, known: set[str]) -> set[str]:
  """The itx/experiments modules `path` imports (a name imported from a package that is itself a
  module counts as that module)."""
  tree = ast.parse(open(path, encoding="utf-8").read(), path)
  package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:
        base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
      names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    else:
      continue
    for name in names:
      while name and name not in known:  # `import itx.data.chat as x` -> itx.data.chat
        name = name.rpartition(".")[0]
      if name and name != module:
        found.add(name)
  return found


def graph() -> dict[str, set[str]]:
  mods = modules()
  return {m: imports(p, m, set(mods)) for m, p in mods.items()}


def test_no_module_imports_a_package_above_it():
  wrong = [f"{m} (rank {rank(m)}) imports {d} (rank {rank(d)})"
           for m, deps in graph().items() for d in deps if rank(d) > rank(m)]
  assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
  g = graph()
  index, low, stack, on_stack, cycles = {}, {}, [], set(), []

  def visit(v):  # Tarjan's strongly connected components
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in g[v]:
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = set()
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.add(w)
        if w == v:
          break
      if len(component) > 1:
        cycles.append(sorted(component))

  for v in g:
    if v not in index:
      visit(v)
  assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_a_cycle_and_a_reach_upwards(tmp_path, monkeypatch):
  """The checks can fail: a planted upward import and a planted cycle are found."""
  pkg = tmp_path / "itx" / "data"
  pkg.mkdir(parents=True)
  (tmp_path / "itx" / "__init__.py").write_text("")
  (pkg / "__init__.py").write_text("")
  (pkg / "a.py").write_text("from itx.data import b\nfrom itx.train import loop\n")
  (pkg / "b.py").write_text("def f():\n  from itx.data.a import x\n")
  (tmp_path / "itx" / "train").mkdir()
  (tmp_path / "itx" / "train" / "__init__.py").write_text("")
  (tmp_path / "itx" / "train" / "loop.py").write_text("")
  monkeypatch.setattr(__import__(__name__), "ROOT", str(tmp_path))
  g = graph()
  assert g["itx.data.a"] == {"itx.data.b", "itx.train.loop"} and g["itx.data.b"] == {"itx.data.a"}
  try:
    test_no_import_cycles()
  except AssertionError as e:
    assert "itx.data.a" in str(e)
  else:
    raise AssertionError("the planted cycle was not found")
  try:
    test_no_module_imports_a_package_above_it()
  except AssertionError as e:
    assert "itx.data.a (rank 2) imports itx.train.loop (rank 6)" in str(e)
  else:
    raise AssertionError("the planted upward import was not found")
