"""The documentation stays true: the configuration reference is regenerated from configs/base.py
and lists every field with its flag; the README stays a door (at most 200 lines) whose links resolve."""

import importlib.util
import os
import re

from configs import base

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_configuration_reference_is_current_and_lists_every_field():
  spec = importlib.util.spec_from_file_location("configuration", os.path.join(ROOT, "docs", "configuration.py"))
  gen = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(gen)
  page = open(os.path.join(ROOT, "docs", "configuration.md"), encoding="utf-8").read()
  assert page == gen.render(), "docs/configuration.md is stale: run python docs/configuration.py"
  for section, fields in base.get_config().items():
    for field in fields:
      assert f"`--config.{section}.{field}`" in page


def test_readme_is_short_and_its_links_resolve():
  text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
  assert len(text.splitlines()) <= 200
  links = re.findall(r"\]\(([^)#]+)\)", text)
  assert links
  for link in links:
    assert os.path.exists(os.path.join(ROOT, link)), link
