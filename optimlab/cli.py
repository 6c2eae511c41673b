"""The ``optimlab`` command.

    optimlab make-exercises [--check]                       generate exercises/ from solutions/
    optimlab grade SUBMISSIONS... --out grades.csv --feedback DIR [--jobs N] [--exercises LIST]
    optimlab exercises                                       list the graded functions

Each subcommand imports what it needs only when it runs, so ``optimlab --help`` is instant.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = __doc__.split("\n\n")[1]


def _exercises(argv: Sequence[str]) -> int:
    from .grading import specs

    for chapter, names in specs.CHAPTERS.items():
        print(chapter)
        for name in names:
            print(f"    {specs.SPECS[name].signature}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print("usage:\n" + USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "make-exercises":
        from .grading.make_exercises import main as run
    elif command == "grade":
        from .grading.grader import main as run
    elif command == "exercises":
        run = _exercises
    else:
        print(f"optimlab: unknown command {command!r}\nusage:\n{USAGE}", file=sys.stderr)
        return 2
    return run(rest)


if __name__ == "__main__":
    sys.exit(main())
