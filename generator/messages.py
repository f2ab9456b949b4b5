"""The last guard on what `generator` prints: one line per problem, printable.

A message echoes what users wrote (a name, a key, a path), and that can hold
anything YAML can write: ESC sequences that clear the screen, CR or U+2028
that break the one-line-per-problem promise, NUL, lone surrogates that cannot
even be encoded. The rules quote the values they show with escapes already
(rules.jinja's `r`); keys, paths and any other text pass through here.
"""

import sys
from pathlib import Path


def program():
    """The command as the user typed it, for the commands a message suggests."""
    return "keras-layer" if Path(sys.argv[0]).name == "keras-layer" else "python -m generator"


def printable(line):
    """A message line with every non-printable character escaped; printable
    text, non-ASCII letters included, stays as it is."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)
