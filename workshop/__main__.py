"""`python -m workshop <command>`: what the Makefile's workshop targets run (`make help` lists them)."""

import argparse
import sys
from pathlib import Path

from shared.lifecycle import Interrupted, stop_on_signals


def diff(args: argparse.Namespace) -> int:
    from workshop.diff import diff_text, terminal_columns, topic_list, use_colour

    if args.topic == "list":
        print(topic_list())
        return 0
    try:
        print(diff_text(args.topic, terminal_columns(), use_colour()))
    except (KeyError, LookupError) as problem:
        print(f"make diff: {problem.args[0]}", file=sys.stderr)
        return 2
    return 0


def diff_html(args: argparse.Namespace) -> int:
    from workshop.diff_html import write_page

    written = write_page(Path(args.out).resolve())
    print(f"Wrote {written}\nOpen it in a browser: file://{written}")
    return 0


def lab(args: argparse.Namespace) -> int:
    from workshop.labs import LABS, lab_list, run_lab

    if not args.numbers:
        print(lab_list())
        return 0
    # A lab starts servers: the first SIGINT, SIGTERM or SIGHUP stops them, whatever follows.
    stop_on_signals()
    chosen = list(LABS) if args.numbers == ["all"] else args.numbers
    unknown = [n for n in chosen if not str(n).isdigit() or int(n) not in LABS]
    if unknown:
        print(f"make lab: no lab {', '.join(map(str, unknown))}.\n{lab_list()}", file=sys.stderr)
        return 2
    results = []
    for index, number in enumerate(chosen):
        if index:
            print()
        try:
            results.append(run_lab(LABS[int(number)], measure_after=not args.no_measure))
        except Interrupted as stopped:
            return stopped.exit_code
    if len(results) > 1:
        print(f"\n{sum(results)} of {len(results)} labs done.")
    return 0 if all(results) else 1


def solution(args: argparse.Namespace) -> int:
    from workshop.labs import LABS
    from workshop.solutions import apply_solution

    if args.number not in LABS:
        print(
            f"make lab-solution: no lab {args.number}; labs are {', '.join(map(str, LABS))}", file=sys.stderr
        )
        return 2
    applied = apply_solution(args.number, undo=args.undo)
    print(applied.how)
    if applied.ok and not args.undo:
        print(f"Check it: make lab N={args.number}. Take it out: make lab-solution N={args.number} UNDO=1")
    return 0 if applied.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop", description=__doc__)
    commands = parser.add_subparsers(required=True)
    command = commands.add_parser("diff", help="a topic or pair side by side in the terminal")
    command.add_argument("topic", nargs="?", help="a topic, a file (routes.py), 'all', or 'list'")
    command.set_defaults(run=diff)
    command = commands.add_parser("diff-html", help="every topic side by side on one offline HTML page")
    command.add_argument("--out", default="build/workshop-diff.html")
    command.set_defaults(run=diff_html)
    command = commands.add_parser("lab", help="check a lab's change on both services")
    command.add_argument("numbers", nargs="*", help="lab numbers, or 'all'; none lists the labs")
    command.add_argument("--no-measure", action="store_true", help="skip the measurement after a lab passes")
    command.set_defaults(run=lab)
    command = commands.add_parser("solution", help="apply a lab's solution patch to the working tree")
    command.add_argument("number", type=int)
    command.add_argument("--undo", action="store_true", help="take the solution out again")
    command.set_defaults(run=solution)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
