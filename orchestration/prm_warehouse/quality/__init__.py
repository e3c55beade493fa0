"""Data-quality gates: Great Expectations suites on raw tables and marts, as Dagster checks.

- :mod:`.spec`: gates (an expectation and a severity), frames and suites;
- :mod:`.raw_suites` / :mod:`.mart_suites`: building blocks of the suites in ``expectations/``;
- :mod:`.suites`: loads the suite modules from ``expectations/``;
- :mod:`.runner`: reads a suite's frames from DuckDB and validates them;
- :mod:`.checks`: one blocking Dagster asset check per suite.
"""
