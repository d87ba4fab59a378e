"""Runnable examples of what not to do, kept out of the services; `make bench SCENARIOS=io` measures them."""
