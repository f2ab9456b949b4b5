"""``python -m generator``: check a layer spec, render it, regenerate it.

Every failure is one line per problem and exit status 2, never a traceback:
a spec is user input, and the user needs the field at fault, not our stack.
"""

import argparse
import sys
from pathlib import Path

import yaml

from generator import template
from generator.errors import InputError
from generator.spec import SpecError, parse

EXIT_OK, EXIT_BUG, EXIT_PROBLEM, EXIT_INTERRUPTED = 0, 1, 2, 130


def load(path):
    """The spec in a YAML file, validated."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read: {error}") from None
    try:
        answers = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(f"{path}: invalid YAML{where}: {problem}") from None
    return parse(answers)


def check(args):
    spec = load(args.spec)
    print(f"ok: {spec.summary()}")


def new(args):
    from generator import render

    spec = load(args.spec)
    written = render.new(spec, Path(args.dest), template=args.template)
    print(f"wrote {spec.layer_name} into {args.dest}:")
    for path in written:
        print(f"  {path}")
    print(f"test it: cd {args.dest} && python -m pytest")
    if not args.template and not template.is_checkout():
        print(
            "note: rendered from the template this install carries, which has no "
            "versions: to update later, make layers with --template <git URL or path>"
        )


def update(args):
    from generator import render

    spec = load(args.spec)
    changed = render.update(spec, Path(args.project))
    print(f"regenerated {spec.layer_name} in {args.project}:")
    for path in changed or ["(no file changed)"]:
        print(f"  {path}")
    print(f"test it: cd {args.project} && python -m pytest")


def parser():
    cli = argparse.ArgumentParser(
        prog="python -m generator",
        description="Check, render and regenerate Keras layers from spec files.",
    )
    commands = cli.add_subparsers(dest="command", required=True)
    command = commands.add_parser("check", help="validate a spec file")
    command.add_argument("spec")
    command.set_defaults(run=check)
    command = commands.add_parser("new", help="check a spec, then render it into DEST")
    command.add_argument("spec")
    command.add_argument("dest")
    command.add_argument(
        "--template", default=None, help="template path or URL (default: this checkout)"
    )
    command.set_defaults(run=new)
    command = commands.add_parser(
        "update", help="check a spec, then regenerate its layer in PROJECT"
    )
    command.add_argument("spec")
    command.add_argument("project")
    command.set_defaults(run=update)
    return cli


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except SpecError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_PROBLEM
    except InputError as error:
        print(error, file=sys.stderr)
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        print("interrupted: nothing more was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the last resort: a bug, still one line
        print(f"internal error ({type(error).__name__}): {error}", file=sys.stderr)
        return EXIT_BUG
    return EXIT_OK
