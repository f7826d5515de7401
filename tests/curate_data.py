"""Small instruction files for the itx.curate tests (alpaca and chat records, code, placeholders)."""

import json
import os

RECORDS = [
    {"id": "a1", "instruction": "Write a short story about a robot who learns to paint, and explain why art "
                                "matters to people.", "input": "",
     "output": "Once upon a time there was a robot called Unit 7 who lived in a quiet city and painted 3 pictures "
               "every day."},
    {"id": "a2", "messages": [
        {"role": "user", "content": "How do I print the numbers from 1 to 10 in Python? Please explain the loop."},
        {"role": "assistant", "content": "You can use a simple loop:\n```python\nfor i in range(1, 11):\n    "
                                         "print(i)\n```\nThe range function stops before its second argument."}]},
    {"id": "a3", "instruction": "Fill in the greeting template for a new customer and keep the placeholder "
                                "{name} where it is.", "input": "Dear {name}, welcome to our shop.",
     "output": "Dear {name}, welcome to our shop. We are happy to have you with us, and your first order ships "
               "within 2 days."},
    {"id": "a4", "messages": [
        {"role": "system", "content": "You are a helpful assistant who answers questions about cooking."},
        {"role": "user", "content": "What should I cook tonight when I only have rice, eggs and some vegetables?"},
        {"role": "assistant", "content": "Fried rice is a good choice: cook the rice, fry the vegetables, add the "
                                         "eggs and mix everything together for about 5 minutes."},
        {"role": "user", "content": "And how can I make it a little more spicy for my friends?"},
        {"role": "assistant", "content": "Add some chili flakes or a spoon of hot sauce while you fry the "
                                         "vegetables, and taste it before you serve it."}]},
]


def write_jsonl(path, rows):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    for r in rows:
      f.write(json.dumps(r, ensure_ascii=False) + "\n")
  return path


def read_jsonl(path):
  with open(path, encoding="utf-8") as f:
    return [json.loads(l) for l in f if l.strip()]
