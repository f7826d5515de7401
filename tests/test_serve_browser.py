"""The comparison page as a person uses it, in headless Chromium: type a question, tick three groups,
ask, and read three streamed answers side by side. The screenshot lands in test-artifacts/."""

import os
import shutil
import tempfile

import pytest

from serve_support import GROUPS, groups_run, loaded, served  # noqa: F401  (session fixtures)

pytestmark = pytest.mark.browser

webdriver = pytest.importorskip("selenium.webdriver")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "test-artifacts")


@pytest.fixture
def browser():
  if not (os.path.exists(CHROMEDRIVER) and os.path.exists(CHROMIUM)):
    pytest.skip("chromium and chromium-driver are not installed (make test installs them)")
  from selenium.webdriver.chrome.service import Service
  profile = tempfile.mkdtemp(prefix="itx-chromium-")
  options = webdriver.ChromeOptions()
  options.binary_location = CHROMIUM
  for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--window-size=1400,1000", f"--user-data-dir={profile}"):
    options.add_argument(flag)
  driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)  # never a download
  yield driver
  driver.quit()
  shutil.rmtree(profile, ignore_errors=True)


def choose(browser, models, language, max_tokens):
  """Ticks the models' boxes, selects the language and sets max tokens."""
  from selenium.webdriver.common.by import By
  from selenium.webdriver.support.ui import Select
  for model in models:
    browser.find_element(By.CSS_SELECTOR, f"#choice-list input[value='{model}']").find_element(By.XPATH, "..").click()
  Select(browser.find_element(By.ID, "language")).select_by_value(language)
  box = browser.find_element(By.ID, "max-tokens")
  box.clear()
  box.send_keys(str(max_tokens))


def answered(wait, n):
  """The n answer cards once none is streaming any more."""
  from selenium.webdriver.common.by import By

  def finished(d):
    cards = d.find_elements(By.CSS_SELECTOR, "#answers .answer")
    return len(cards) == n and not d.find_elements(By.CSS_SELECTOR, "#answers .answer.streaming") and cards

  return wait.until(finished)


def test_three_groups_answer_side_by_side(served, browser):  # noqa: F811
  from selenium.webdriver.common.by import By
  from selenium.webdriver.support.ui import WebDriverWait
  url, _ = served
  browser.get(url + "/")
  wait = WebDriverWait(browser, 120)
  wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#choice-list input"))
  browser.find_element(By.ID, "question").send_keys("What should a city spend its money on?")
  chosen = [f"tiny:{g}" for g in GROUPS[:3]]
  choose(browser, chosen, "en", 24)
  browser.find_element(By.ID, "submit").click()
  cards = answered(wait, 3)
  assert [c.get_attribute("data-model") for c in cards] == chosen  # one column per choice, in order
  for c in cards:
    assert "failed" not in c.get_attribute("class"), c.text
    assert c.find_element(By.CSS_SELECTOR, ".text").text.strip()
    meta = c.find_element(By.CSS_SELECTOR, ".meta").text
    assert " tokens" in meta and " s" in meta
  assert browser.find_element(By.ID, "banner").get_attribute("hidden") is not None  # no error shown
  os.makedirs(ARTIFACTS, exist_ok=True)
  browser.save_screenshot(os.path.join(ARTIFACTS, "compare_page.png"))


def test_a_failing_request_is_reported_on_the_page(served, browser):  # noqa: F811
  from selenium.webdriver.common.by import By
  from selenium.webdriver.support.ui import WebDriverWait
  url, _ = served
  browser.get(url + "/")
  wait = WebDriverWait(browser, 60)
  wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#choice-list input"))
  # A question longer than the model takes: the server refuses it and the page says why.
  browser.execute_script("document.getElementById('question').value = 'why '.repeat(2000);")
  browser.find_element(By.CSS_SELECTOR, "#choice-list input[value='plain']").find_element(By.XPATH, "..").click()
  browser.find_element(By.ID, "submit").click()
  try:
    wait.until(lambda d: d.find_element(By.ID, "banner").is_displayed())
  finally:
    os.makedirs(ARTIFACTS, exist_ok=True)
    browser.save_screenshot(os.path.join(ARTIFACTS, "compare_page_error.png"))
  banner = browser.find_element(By.ID, "banner").text
  assert "failed" in banner and "tokens" in banner
  card = browser.find_element(By.CSS_SELECTOR, "#answers .answer")
  assert "failed" in card.get_attribute("class")


def test_a_task_example_asks_every_ticked_column_in_the_chosen_language(served, browser):  # noqa: F811
  from selenium.webdriver.common.by import By
  from selenium.webdriver.support.ui import WebDriverWait
  from itx.serve.examples import EXAMPLES, TASKS
  url, _ = served
  browser.get(url + "/")
  wait = WebDriverWait(browser, 120)
  wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#examples .example")) == len(TASKS))
  chosen = [f"tiny:{g}" for g in GROUPS[:2]] + ["plain"]
  choose(browser, chosen, "de", 16)
  browser.find_element(By.CSS_SELECTOR, "#examples .example[data-task='summarise']").click()  # one click asks
  cards = answered(wait, 3)
  assert browser.find_element(By.ID, "question").get_attribute("value") == EXAMPLES["de"]["summarise"]
  assert [c.get_attribute("data-model") for c in cards] == chosen
  for c in cards:
    assert "failed" not in c.get_attribute("class"), c.text
    assert c.find_element(By.CSS_SELECTOR, ".text").text.strip()
  os.makedirs(ARTIFACTS, exist_ok=True)
  browser.save_screenshot(os.path.join(ARTIFACTS, "compare_page_examples.png"))
