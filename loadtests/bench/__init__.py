"""`make bench`: verify both services live, load-test them on equal terms, write the summary and report.

Layers, one folder each, top to bottom; a module imports only its own layer and those below it
(tests/test_bench_layers.py holds the rule):

    runner.py, cli.py  the run, phase by phase; the command line
    tail.py            the tail experiments: one candidate cause of a p99 at a time
    load/              one slice: Locust or wrk against one server, the CPU sampled meanwhile
    inprocess/         no socket: the model alone, the split, the glue's price, the reference apps
    targets/           start, attach, verify and stop servers (and the processes under them)
    machine/           what the machine is, and how fast its CPUs run now
    render/            summary -> report.md, charts, the method text, README and docs sections; never measures
    results/           raw records (measurements.json) -> figures: pairs, intervals, curves, the split; pure
    plan/              knobs, profiles, the catalogue of variants, the slices: data only, nothing started

What measures sits above what reads: render/, results/ and plan/ touch no process and no server, so a
report is rebuilt from an old run's folder, and a test feeds them recorded data.
"""
