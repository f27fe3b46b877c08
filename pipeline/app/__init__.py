"""The use-cases: one run, a day's report, delivery and the operators' tasks."""
