"""Screenshots the comparison page answering one question as several models or groups, in headless
Chromium, with a freshly started `itx serve` (the picture in docs/opinion_real.md):

  python docs/comparison_page.py --run=bank=results/opinion_groups/real/runs/bank_seed0 \
      --choices=bank:liberal,bank:conservative,bank:german --question="..." --out=docs/opinion_real_page.png
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, timeout: float = 600) -> None:
  deadline = time.time() + timeout
  while time.time() < deadline:
    if server.poll() is not None:
      raise SystemExit(f"itx serve exited with {server.returncode}")
    try:
      with urllib.request.urlopen(url + "/health", timeout=5) as r:
        if r.status == 200:
          return
    except OSError:
      pass
    time.sleep(2)
  raise SystemExit(f"{url} not healthy after {timeout:.0f} s")


def browser(profile: str):
  options = webdriver.ChromeOptions()
  options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
  for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--window-size=1400,1000", f"--user-data-dir={profile}"):
    options.add_argument(flag)
  return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)


def screenshot(url: str, choices: list[str], question: str, language: str, max_tokens: int, out: str) -> list[str]:
  """Asks `question` of every choice on the page and saves the page once every answer is in."""
  profile = tempfile.mkdtemp(prefix="itx-chromium-")
  driver = browser(profile)
  try:
    driver.get(url + "/")
    wait = WebDriverWait(driver, 600)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#choice-list input"))
    driver.find_element(By.ID, "question").send_keys(question)
    for choice in choices:
      driver.find_element(By.CSS_SELECTOR, f"#choice-list input[value='{choice}']").find_element(By.XPATH, "..").click()
    Select(driver.find_element(By.ID, "language")).select_by_value(language)
    box = driver.find_element(By.ID, "max-tokens")
    box.clear()
    box.send_keys(str(max_tokens))
    driver.find_element(By.ID, "submit").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#answers .answer")) == len(choices)
               and not d.find_elements(By.CSS_SELECTOR, "#answers .answer.streaming"))
    driver.save_screenshot(out)
    return [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#answers .answer .text")]
  finally:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--run", action="append", required=True, help="NAME=WORKDIR, as itx serve's --run")
  p.add_argument("--choices", required=True, help="comma-separated page choices, e.g. bank:liberal,bank:german")
  p.add_argument("--question", required=True)
  p.add_argument("--language", default="en")
  p.add_argument("--max_tokens", type=int, default=48)
  p.add_argument("--out", required=True)
  a = p.parse_args()
  port = free_port()
  server = subprocess.Popen([sys.executable, "-m", "itx.serve", *(f"--run={r}" for r in a.run), f"--port={port}"],
                            env={**os.environ, "XLA_FLAGS": ""})
  try:
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, server)
    for choice, text in zip(a.choices.split(","), screenshot(url, a.choices.split(","), a.question, a.language,
                                                             a.max_tokens, a.out)):
      print(f"{choice}: {text}")
    print(f"wrote {a.out}")
  finally:
    server.terminate()
    server.wait(timeout=60)


if __name__ == "__main__":
  main()
