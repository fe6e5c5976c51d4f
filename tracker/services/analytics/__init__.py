"""Survival analytics as users ask for them: the case frame and its fast readers, the data version
that keys every cache, the national baselines and the matching of cases to them, and the survival
queries shared by the API, the CLI, the explorer and the report."""
