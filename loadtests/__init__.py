"""The Locust suite and the `make bench` runner: load tests, summary and report."""
