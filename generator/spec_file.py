"""Reading a spec file: its bytes to the answers, with bounds on everything.

A spec is user input, and a few hundred bytes of YAML can ask for anything: a
billion values through nested aliases, a list nested ten thousand deep, an int
of a million digits, text in an encoding we do not expect. Every such file is
refused here, in one line naming the field (or line) at fault, before any
value is built, so no rule, message or template ever sees it.
"""

import codecs
from pathlib import Path

import yaml

from generator import rules
from generator.bounded_yaml import TooMuch, load
from generator.errors import InputError
from generator.spec import SpecError

MAX_BYTES = 256 * 1024
CONTAINERS = {list: "list", dict: "mapping", set: "set"}

# Longest first: UTF-32-LE's mark starts with UTF-16-LE's.
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_answers(path):
    """The answers a spec file holds, as YAML reads them; `InputError` if the
    file cannot be read, is not text, is not YAML or exceeds a bound."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    if len(data) > MAX_BYTES:
        raise InputError(f"{path}: larger than {MAX_BYTES // 1024} KiB; a spec is a few KiB")
    text = _decode(path, data)
    try:
        answers = load(text)
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        raise InputError(
            f"{path}: invalid YAML (line {line}): character U+{error.character:04X} "
            "is not allowed in YAML text (write it as an escape in double quotes)"
        ) from None
    except yaml.YAMLError as error:
        raise InputError(f"{path}: invalid YAML{_where(error)}: {_problem(error)}") from None
    except TooMuch as error:
        raise InputError(str(error)) from None
    _refuse_containers_for_text(answers)
    return answers


def _decode(path, data):
    """UTF-8, or the encoding a byte order mark names; never the locale's."""
    encoding = next((name for mark, name in BYTE_ORDER_MARKS if data.startswith(mark)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        before = data[: error.start].decode(encoding, errors="replace")
        line = before.count("\n") + 1
        raise InputError(
            f"{path}: not {encoding.upper().removesuffix('-SIG')} text: byte "
            f"0x{data[error.start]:02x} at line {line} cannot be decoded "
            "(save the spec as UTF-8)"
        ) from None


def _where(error):
    mark = getattr(error, "problem_mark", None)
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""


def _problem(error):
    return getattr(error, "problem", None) or str(error).splitlines()[0]


def _text_questions():
    return [name for name, question in rules.questions().items() if question.get("type") == "str"]


def _refuse_containers_for_text(answers):
    """A list or mapping where text is asked is refused as it is, before
    anything turns it into text (as `str()` would, however large)."""
    if not isinstance(answers, dict):
        return
    problems = [
        f"{question}: must be text, not {CONTAINERS[type(value)]}"
        for question in _text_questions()
        if type(value := answers.get(question)) in CONTAINERS
    ]
    if problems:
        raise SpecError(problems)
