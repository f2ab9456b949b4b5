"""``python -m generator``: check a layer spec, render it, regenerate it.

Every failure is one line per problem and exit status 2, never a traceback:
a spec is user input, and the user needs the field at fault, not our stack.
Ctrl-C is one line too, exit status 130 (as a shell reports SIGINT).
"""

import argparse
import sys
from pathlib import Path

from generator import template
from generator.errors import InputError
from generator.messages import printable
from generator.spec import SpecError, parse
from generator.spec_file import read_answers

EXIT_OK, EXIT_BUG, EXIT_PROBLEM, EXIT_INTERRUPTED = 0, 1, 2, 130


def load(path):
    """The spec in a YAML file, validated."""
    return parse(read_answers(path))


def check(args):
    spec = load(args.spec)
    print(f"ok: {spec.summary()}")


def new(args):
    """`new SPEC DEST` renders a spec file; `new [DEST]` asks for the spec."""
    from generator import render

    if len(args.paths) > 2:
        raise InputError("new: give at most SPEC and DEST (python -m generator new [SPEC] DEST)")
    if len(args.paths) == 2:
        spec, dest = load(args.paths[0]), Path(args.paths[1])
    else:
        from generator import guided

        dest = Path(args.paths[0] if args.paths else ".")
        if dest.is_file():
            raise InputError(
                f"new: {dest} is a file; render a spec with: python -m generator new {dest} DEST"
            )
        spec = guided.ask_spec(sys.stdin, sys.stdout, dest)
        if spec is None:
            return
    written = render.new(spec, dest, template=args.template)
    print(f"wrote {spec.layer_name} into {dest}:")
    for path in written:
        print(f"  {path}")
    print(f"test it: cd {dest} && python -m pytest")
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
    command = commands.add_parser(
        "new",
        help="check a spec, then render it into DEST; with no SPEC, ask for it",
        usage="%(prog)s [-h] [--template TEMPLATE] [SPEC] [DEST]",
        description="new SPEC DEST: check a spec file, then render its layer into DEST. "
        "new [DEST]: ask for the spec one question at a time (DEST default: .).",
    )
    command.add_argument(
        "paths",
        nargs="*",
        metavar="[SPEC] [DEST]",
        help="a spec file and the project folder, or the project folder alone",
    )
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
            print(printable(problem), file=sys.stderr)
        return EXIT_PROBLEM
    except InputError as error:
        print(printable(str(error)), file=sys.stderr)
        return EXIT_PROBLEM
    except (KeyboardInterrupt, EOFError):  # Ctrl-C, or Ctrl-D at a prompt
        # `new` undoes a copy it interrupts; `update` may have merged part of one.
        what = "nothing written" if args.command == "new" else "nothing more was written"
        print(f"interrupted: {what}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the last resort: a bug, still one line
        print(printable(f"internal error ({type(error).__name__}): {error}"), file=sys.stderr)
        return EXIT_BUG
    return EXIT_OK
