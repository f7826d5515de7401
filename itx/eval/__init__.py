"""Evaluation that needs no model: text metrics, response-language fidelity, the MT-Bench-X judge
protocol as FastChat runs it (single and pairwise judge requests, judgment files, aggregation,
radar plots), an OpenAI-compatible and a rule judge, and agreement between judges and humans.
Answers come in as strings; decoding lives elsewhere."""
