"""`make bench`: verify both services live, load-test them on equal terms, write the summary and report."""
