"""``python -m generator``: check a layer spec, render it, regenerate it.

Every failure is one line per problem and exit status 2, never a traceback:
a spec is user input, and the user needs the field at fault, not our stack.
Ctrl-C is one line too, exit status 130 (as a shell reports SIGINT).
"""

import argparse
import shlex
import sys
from pathlib import Path

from generator.errors import InputError
from generator.lint import installed
from generator.messages import printable, program
from generator.project import in_project
from generator.spec import SpecError, built, warnings_of
from generator.spec_file import read_answers

EXIT_OK, EXIT_BUG, EXIT_PROBLEM, EXIT_INTERRUPTED = 0, 1, 2, 130


def load(path, project=None, quick=False, backends=None):
    """The spec in a YAML file, validated; headed for the existing project
    in folder `project`, it takes (and must keep) the project's package."""
    answers = read_answers(path)
    answers = answers if project is None else in_project(answers, project)
    return built(answers, quick=quick, backends=backends)


def check(args):
    backends = None
    if args.backends is not None:
        from generator.trace import backends_named

        backends = backends_named(args.backends)
    spec = load(args.spec, quick=args.quick, backends=backends)
    unlinted = "" if args.quick or installed() else " (not linted: ruff is not installed)"
    print(f"ok: {spec.summary()}{unlinted}")
    for warning in warnings_of(spec):
        print(f"warning: {printable(warning)}", file=sys.stderr)


def new(args):
    """`new SPEC DEST` renders a spec file; `new [DEST]` asks for the spec."""
    from generator import render

    if len(args.paths) > 2:
        raise InputError(f"new: give at most SPEC and DEST ({program()} new [SPEC] DEST)")
    if len(args.paths) == 2:
        spec, dest = load(args.paths[0], project=args.paths[1]), Path(args.paths[1])
    else:
        from generator import guided

        dest = Path(args.paths[0] if args.paths else ".")
        if dest.is_file():
            raise InputError(
                f"new: {dest} is a file; render a spec with: {program()} new {dest} DEST"
            )
        spec = guided.ask_spec(sys.stdin, sys.stdout, dest)
        if spec is None:
            return
    written = render.new(spec, dest, template=args.template)
    print(f"wrote {spec.layer_name} into {dest}:")
    for path in written:
        print(f"  {path}")
    print(f"test it: {run_tests(dest)}")
    if not _tests_find_the_package(dest / "pyproject.toml"):
        print(
            "note: pyproject.toml is the project's own, and pytest would not find the layer: "
            'add pythonpath = ["src", "tests"] under [tool.pytest.ini_options]'
        )


def _tests_find_the_package(pyproject):
    """Whether pytest, as `pyproject` sets it, puts src/ and tests/ on the
    path (Copier keeps an existing pyproject.toml as it is)."""
    import tomllib

    try:
        settings = tomllib.loads(pyproject.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True  # none, or not one to advise on
    paths = settings.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("pythonpath")
    return isinstance(paths, list) and {"src", "tests"} <= set(paths)


def update(args):
    if args.all:
        return update_every_layer(args)
    from generator import render

    spec = load(args.spec, project=args.project)
    _refuse_another_spec_file(spec, Path(args.spec), Path(args.project))
    changed = render.update(spec, Path(args.project))
    print(f"regenerated {spec.layer_name} in {args.project}:")
    for path in changed or ["(no file changed)"]:
        print(f"  {path}")
    print(f"test it: {run_tests(args.project)}")


def _refuse_another_spec_file(spec, path, project):
    """The layer's spec file is its truth (update --all reads it), and Copier
    never writes it again: an update from another file that says otherwise
    would leave it stale, and the next update --all would undo this one."""
    own = project / "specs" / f"{spec.module_name}.yml"
    if not own.is_file() or own.resolve() == path.resolve():
        return
    if load(own, project=project, quick=True).answers != spec.answers:
        raise InputError(
            f"{own}: is layer {spec.module_name}'s spec, and {path} says otherwise: "
            f"put the change in {own}, commit, and run: {program()} update {own} {project}"
        )


def update_every_layer(args):
    """One line per layer (failures on stderr), then what to do next."""
    from generator.update_all import update_all

    outcomes = update_all(Path(args.project))
    for outcome in outcomes:
        print(outcome.line(), file=sys.stderr if outcome.failed else sys.stdout)
    failed = [o.layer for o in outcomes if o.failed]
    updated = sum(o.status == "updated" for o in outcomes)
    if updated:
        print(
            f"{updated} of {len(outcomes)} layers updated; the changes are in your working "
            f"tree, uncommitted: review them (git diff), test them ({run_tests(args.project)}), "
            "then commit"
        )
    elif not failed:
        print("every layer is up to date: its spec and the template's newest release")
    if failed:
        print(
            f"{len(failed)} failed ({', '.join(failed)}), the others are intact: fix what "
            "is said above, commit, and run update --all again",
            file=sys.stderr,
        )
        return EXIT_PROBLEM
    return EXIT_OK


def run_tests(folder):
    """The command that runs the project's tests, from here."""
    here = Path(folder).resolve() == Path.cwd().resolve()
    return "python -m pytest" if here else f"cd {shlex.quote(str(folder))} && python -m pytest"


def parser():
    cli = argparse.ArgumentParser(
        prog=program(),
        description="Check, render and regenerate Keras layers from spec files.",
    )
    commands = cli.add_subparsers(dest="command", required=True)
    command = commands.add_parser("check", help="validate a spec file")
    command.add_argument("spec")
    command.add_argument(
        "--quick",
        action="store_true",
        help="the rules only, as Copier's prompt checks them: skip building the layer "
        "in Keras, which catches shape errors but takes seconds",
    )
    command.add_argument(
        "--backends",
        metavar="NAMES",
        help="build and test the layer on each of these Keras backends (tensorflow,jax,torch; "
        "all: those installed), as the project's CI tests it; default: the one Keras uses",
    )
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
        "--template",
        default=None,
        help="template path or URL (default: the project's layers', else this tool's own)",
    )
    command.set_defaults(run=new)
    command = commands.add_parser(
        "update",
        help="check a spec, then regenerate its layer in PROJECT; or, with --all, "
        "every layer of PROJECT (default: .) from its spec, at the newest template release",
        usage="%(prog)s SPEC PROJECT | %(prog)s --all [PROJECT]",
    )
    command.add_argument("paths", nargs="*", metavar="SPEC PROJECT")
    command.add_argument(
        "--all",
        action="store_true",
        help="every layer whose spec changed, and every layer to the newest template release",
    )
    command.set_defaults(run=update, usage_error=command.error)
    return cli


def update_paths(args):
    """`update SPEC PROJECT` or `update --all [PROJECT]`, as spec and project."""
    if args.all and len(args.paths) <= 1:
        args.spec, args.project = None, (args.paths or ["."])[0]
    elif not args.all and len(args.paths) == 2:
        args.spec, args.project = args.paths
    else:
        args.usage_error("give SPEC PROJECT, or --all [PROJECT]")


def main(argv=None):
    args = parser().parse_args(argv)
    if args.run is update:
        update_paths(args)
    try:
        status = args.run(args)
    except SpecError as error:
        for problem in error.problems:
            print(printable(problem), file=sys.stderr)
        return EXIT_PROBLEM
    except InputError as error:
        print(printable(str(error)), file=sys.stderr)
        return EXIT_PROBLEM
    except (KeyboardInterrupt, EOFError):  # Ctrl-C, or Ctrl-D at a prompt
        # `new` undoes a copy it interrupts, `update --all` works in a worktree
        # it removes; `update` may have merged part of one.
        whole = args.command == "new" or getattr(args, "all", False)
        what = "nothing written" if whole else "nothing more was written"
        print(f"interrupted: {what}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the last resort: a bug, still one line
        print(printable(f"internal error ({type(error).__name__}): {error}"), file=sys.stderr)
        return EXIT_BUG
    return status or EXIT_OK
