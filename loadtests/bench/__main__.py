from loadtests.bench.runner import main

raise SystemExit(main())
