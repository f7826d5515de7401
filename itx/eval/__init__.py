"""Evaluation that needs no model: text metrics, response-language fidelity, the MT-Bench-X judge
protocol (requests, judgment files, aggregation, plots), an HTTP and a rule judge, and agreement
between judges. Answers come in as strings; decoding lives elsewhere."""
