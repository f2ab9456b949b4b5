"""A program driven through a pseudo-terminal, as a user at a prompt drives it.

Copier's prompts and the guided `generator new` are questionary
(prompt_toolkit) applications: they need a terminal, draw with escape codes
and read keys, not lines. `Terminal` spawns a command in a pty of a fixed
size, waits for text on the screen whatever styling or line wrapping comes
between its characters, and types keys.
"""

import os
import re
import sys

import pexpect
import pytest

from generator.spec import SpecError, parse
from rendering import REPO

COLUMNS, LINES = 80, 50
# A slow, shared machine: Copier's first prompt comes after imports and a git
# clone of the template (3 s alone), rendering takes some more. Generous, but
# a prompt that never comes fails the test in a minute.
TIMEOUT = 60
# Escape codes, and the bell rung by a key with nothing to act on.
ESCAPE = r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\x07"

ENTER = "\r"
ALT_ENTER = "\x1b\r"  # ends a multi-line answer
CTRL_C = "\x03"
CTRL_U = "\x15"  # erases the line before the cursor
BACKSPACE = "\x7f"
DOWN = "\x1b[B"
EDITOR = "\x18\x05"  # Ctrl-X Ctrl-E: edit the answer in $EDITOR


def environment(**extra):
    env = dict(
        os.environ,
        TERM="xterm-256color",
        COLUMNS=str(COLUMNS),
        LINES=str(LINES),
        # A pty answers no cursor-position request; without this prompt_toolkit
        # waits for one and then prints a warning.
        PROMPT_TOOLKIT_NO_CPR="1",
        # The generator from this checkout, wherever the command runs.
        PYTHONPATH=str(REPO),
        **extra,
    )
    env.pop("PYTEST_ADDOPTS", None)
    return env


def strip(text):
    """Terminal output as plain text: escape codes out, line ends as `\\n`."""
    return re.sub(r"\r+\n?", "\n", re.sub(ESCAPE, "", text))


class Terminal:
    def __init__(self, *argv, cwd, env=None, timeout=TIMEOUT):
        self.child = pexpect.spawn(
            argv[0],
            list(argv[1:]),
            cwd=str(cwd),
            env=environment(**(env or {})),
            dimensions=(LINES, COLUMNS),
            encoding="utf-8",
            codec_errors="replace",
            timeout=timeout,
        )
        self.output = []
        self.child.logfile_read = self

    # pexpect's log file: everything the program drew, for the transcript.
    def write(self, data):
        self.output.append(data)

    def flush(self):
        pass

    def transcript(self):
        return strip("".join(self.output))

    def expect(self, text):
        """Wait until `text` is on the screen: any escape code or line break
        may come between its characters, and a space may be drawn as a
        cursor move."""
        gap = rf"(?:{ESCAPE}|[\r\n])*"
        space = rf"(?:{ESCAPE}|[ \r\n])+"
        pattern = gap.join(space if c == " " else re.escape(c) for c in text)
        try:
            self.child.expect(pattern)
        except (pexpect.TIMEOUT, pexpect.EOF) as error:
            raise AssertionError(
                f"never saw {text!r} ({type(error).__name__}); the screen so far:\n"
                f"{self.transcript()[-3000:]}"
            ) from None

    def answer(self, question, text, erase=CTRL_U, submit=ENTER):
        """At `question`, erase the proposed answer, type `text` and submit."""
        self.expect(question)
        self.child.send(erase + text + submit)

    def press(self, question, keys):
        self.expect(question)
        self.child.send(keys)

    def send(self, keys):
        self.child.send(keys)

    def finish(self):
        """Wait for the program to end; its exit status."""
        try:
            self.child.expect(pexpect.EOF)
        except pexpect.TIMEOUT:
            self.child.terminate(force=True)
            raise AssertionError(
                f"still running; the screen:\n{self.transcript()[-3000:]}"
            ) from None
        self.child.close()
        return self.child.exitstatus


def clear(lines=20):
    """Keys that erase a proposed answer of up to `lines` lines, the cursor
    being at its end (where prompt_toolkit puts it)."""
    return (CTRL_U + BACKSPACE) * lines


def python(*args):
    return (sys.executable, *args)


def rule_message(answers, field):
    """What `generator check` says about `field` in these answers: what a
    prompt must show when they are typed there."""
    with pytest.raises(SpecError) as error:
        parse(answers)
    (message,) = [p for p in error.value.problems if p.startswith(f"{field}: ")]
    return message
