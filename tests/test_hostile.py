"""Hostile and awkward spec files (issue 15): `generator check` refuses each
with one line per problem naming the field, never a traceback, and in a blink
and a few megabytes however much the file asks for.

The tables are by class of attack; each case is a whole spec file, as a user
would hand it over (the answers it leaves out take their defaults). Cases that
could crash the interpreter or exhaust the machine also run as a subprocess,
under limits.
"""

import codecs
import time

import pytest
import yaml

from generator.cli import main
from generator.computation import analyse
from processes import check_process
from rendering import CATALOG, render

ESCAPES_ONLY_JINJA_SPLITS = ["\\u2028", "\\u2029", "\\x85", "\\f", "\\v"]


def alias_bomb(levels, width=10, field="description"):
    """`levels` nested lists of `width` aliases each, all inside one field:
    width**levels strings once expanded, a few hundred bytes written."""
    items = ["&l0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels):
        items.append(f"&l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return f"{field}: [" + ", ".join(items) + "]\n"


def nested(depth):
    return "[" * depth + "]" * depth


def computation(body):
    """A spec whose computation is `body` (a YAML double-quoted string, so
    that any character can be written as an escape)."""
    return f'computation: "{body}"\n'


OK = "return (ops.matmul(x, kernel) + bias) * scale\\n"

# (case id, spec file (text or bytes), what the first line starts with)
BAD_FILES = [
    # Resources: each is a few hundred bytes that ask for the machine.
    ("alias-bomb-9-levels", alias_bomb(9), "description[4]: holds over 100,000 values"),
    (
        "alias-bomb-in-unknown-questions",
        "a: &a ["
        + ", ".join(['"lol"'] * 10)
        + "]\n"
        + "".join(
            f"{b}: &{b} [" + ", ".join([f"*{a}"] * 10) + "]\n"
            for a, b in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "description: ["
        + ", ".join(["*i"] * 10)
        + "]\n",
        "e: holds over 100,000 values",
    ),
    (
        "alias-bomb-in-a-weight-doc",
        "weights:\n  - name: kernel\n    shape: [2]\n    " + alias_bomb(7, field="doc"),
        "weights[0].doc[4]: holds over",
    ),
    (
        "long-text-aliased",
        "a: &a " + "x" * 60_000 + "\ndescription: [*a, *a]\n",
        "description: holds over",
    ),
    ("recursive-alias", "description: &a [*a]\n", "description[0]: a YAML alias refers to"),
    (
        "recursive-mapping",
        "weights: &w [{name: k, shape: *w}]\n",
        "weights[0].shape: a YAML alias refers to",
    ),
    ("nested-10000-deep", f"description: {nested(10_000)}\n", "spec.yml: invalid YAML (line 1"),
    # Text given for a YAML question is YAML too, read with the same bounds.
    (
        "nested-in-text-for-a-yaml-question",
        f'weights: "{nested(5_000)}"\n',
        "weights: text that is not valid YAML (nested deeper than 32 levels)",
    ),
    (
        "alias-bomb-in-text-for-a-yaml-question",
        "hyperparameters: |\n  " + alias_bomb(9, field="x"),
        "hyperparameters.x[4]: holds over 100,000 values",
    ),
    (
        "nested-block-200-deep",
        "weights:\n" + "".join("  " * i + "-\n" for i in range(1, 200)),
        "spec.yml: invalid YAML (line 33",
    ),
    (
        "nested-through-aliases",
        f"a: &a {nested(30)}\nb: &b [[[[[[[[[[*a]]]]]]]]]]\n",
        "b[0][0][0][0][0][0]: nested deeper than 32 levels through YAML aliases",
    ),
    ("file-too-large", "description: " + "a" * 300_000 + "\n", "spec.yml: larger than 256 KiB"),
    # Ints no process can be trusted to write back (or read, under its limit).
    (
        "int-of-5000-digits",
        f"example_input_shape: [8, {'9' * 5000}]\n",
        "example_input_shape[1]: an int of over 640 digits",
    ),
    ("int-of-641-digits", f"layer_name: {'1' * 641}\n", "layer_name: an int of over 640 digits"),
    (
        "hex-int-of-800-digits",
        f"weights: [{{name: k, shape: [0x{'f' * 600}]}}]\n",
        "weights[0].shape[0]: an int of over 640 digits",
    ),
    # Values YAML's own constructors fail on.
    ("not-an-int", "example_input_shape: [8, !!int abc]\n", "spec.yml: invalid YAML (line 1"),
    ("not-a-float", "example_input_shape: !!float [8]\n", "spec.yml: invalid YAML (line 1"),
    ("no-such-date", "description: 2024-02-30\n", "spec.yml: invalid YAML (line 1, column 14)"),
    ("undefined-alias", "description: *nope\n", "spec.yml: invalid YAML (line 1"),
    ("list-as-key", "? [a]\n: 1\n", "spec.yml: invalid YAML (line 1"),
    # YAML keeps the last of a key given twice, and the first is lost unsaid.
    (
        "key-given-twice",
        "weights: []\nlayer_name: A\nweights: [{name: w}]\n",
        "spec.yml: invalid YAML (line 3, column 1): key 'weights' is given twice (first at line 1)",
    ),
    (
        "key-given-twice-in-flow",
        "{a: 1, a: 2}\n",
        "spec.yml: invalid YAML (line 1, column 8): key 'a' is",
    ),
    # Bytes that are not text, or not UTF-8 where no mark says otherwise.
    ("raw-nul", b"layer_name: Foo\ndescription: a\x00b\n", "spec.yml: invalid YAML (line 2)"),
    ("raw-escape", b"layer_name: A\x1b[2J\n", "spec.yml: invalid YAML (line 1)"),
    (
        "latin-1",
        "layer_name: Foo\ndescription: d\u00e9j\u00e0 vu\n".encode("latin-1"),
        "spec.yml: not UTF-8 text: byte 0xe9 at line 2",
    ),
    ("utf-16-cut-short", codecs.BOM_UTF16_LE + b"d\x00e", "spec.yml: not UTF-16 text"),
    ("encoded-surrogate", b"description: a\xed\xa0\x80\n", "spec.yml: not UTF-8 text"),
    ("escaped-surrogate", 'description: "a\\ud800b"\n', "description: holds a lone surrogate"),
    ("escaped-surrogate-key", '"\\udc80": 1\n', "\\udc80: holds a lone surrogate"),
    # Containers where text is asked: refused before anything makes them text.
    ("description-list", "description: [a, b]\n", "description: must be text, not list"),
    ("computation-mapping", "computation: {return: x}\n", "computation: must be text, not mapping"),
    ("layer-name-set", "layer_name: !!set {A: null}\n", "layer_name: must be text, not set"),
]

# Computations that pass a parse but not Python's compiler, or that would
# generate a layer that cannot work, or reach around the no-imports rule.
BAD_COMPUTATIONS = [
    ("await", "await x\\n" + OK, "computation: line 1: 'await' outside async function"),
    ("break-outside-loop", "break\\n" + OK, "computation: line 1: 'break' outside loop"),
    ("continue-outside-loop", "continue\\n" + OK, "computation: line 1: 'continue' not properly"),
    ("starred-assignment", "*a = x\\n" + OK, "computation: line 1: starred assignment target"),
    ("nonlocal-nothing", "nonlocal y\\n" + OK, "computation: line 1: no binding for nonlocal"),
    ("global-parameter", "global kernel\\n" + OK, "computation: line 1: name 'kernel' is param"),
    ("global", "y = 1\\nglobal z\\nz = y\\n" + OK, "computation: line 2: global is not allowed"),
    ("duplicate-keyword", "y = ops.sum(x, axis=1, axis=2)\\n" + OK, "computation: line 1:"),
    ("indented-first-line", "  y = x\\n" + OK, "computation: line 2: unindent"),
    (
        "indentation-too-deep",
        # One space a level: within the rules' 20,000 characters.
        "".join(" " * i + f"if x{i}:\\n" for i in range(101)) + " " * 101 + "pass\\n" + OK,
        "computation: line 100: too many levels of indentation",
    ),
    (
        "parentheses-300-deep",
        "return " + "(" * 300 + "x" + ")" * 300,
        "computation: line 1: too many",
    ),
    (
        "expression-of-5000-terms",
        # A line a term: within the rules' bounds (20,000 characters, 1,000 a line).
        "return (" + "\\n+".join(["x"] * 5_000) + " + kernel + bias + scale)",
        "computation: too deeply",
    ),
    ("yield", "yield x\\n" + OK, "computation: line 1: yield makes the forward function"),
    ("yield-from", "yield from x\\n" + OK, "computation: line 1: yield makes"),
    ("yield-after-return", OK + "yield\\n", "computation: line 2: yield makes"),
    ("tuple-return", "return x * kernel * bias, scale\\n", "computation: line 1: returns a tuple"),
    ("list-return", "return [x * kernel * bias * scale]\\n", "computation: line 1: returns a list"),
    (
        "constant-return",
        "y = kernel * bias * scale\\nreturn 0.0\\n",
        "computation: line 2: returns a constant",
    ),
    (
        "bare-return",
        "y = x * kernel * bias * scale\\nreturn\\n",
        "computation: line 2: return needs",
    ),
    (
        "falls-off-an-if",
        "if units > 2:\\n    return x * kernel * bias * scale\\n",
        "computation: line 1: can end here without returning",
    ),
    (
        "falls-off-a-loop",
        "for i in range(units):\\n    return x * kernel * bias * scale\\n",
        "computation: line 1: can end here",
    ),
    (
        "falls-off-a-try",
        "try:\\n    return x * kernel * bias * scale\\nexcept ValueError:\\n    pass\\n",
        "computation: line 1: can end here",
    ),
    (
        "falls-off-a-match",
        "match units:\\n    case 1:\\n        return x * kernel * bias * scale\\n",
        "computation: line 1: can end here",
    ),
    (
        "weight-never-read",
        "return ops.matmul(x, kernel) * scale\\n",
        "computation: never reads weight 'bias'",
    ),
    (
        "weight-only-in-a-comment",
        "# bias is for later\\nreturn ops.matmul(x, kernel) * scale\\n",
        "computation: never reads weight 'bias'",
    ),
    (
        "dunder-import",
        "m = __import__('os')\\n" + OK,
        "computation: line 1: '__import__' is not allowed",
    ),
    ("exec", "exec('import os')\\n" + OK, "computation: line 1: 'exec' is not allowed"),
    ("eval", "y = eval('x')\\n" + OK, "computation: line 1: 'eval' is not allowed"),
    ("compile", "c = compile('1', 'f', 'eval')\\n" + OK, "computation: line 1: 'compile' is not"),
    ("open", "open('/etc/passwd').read()\\n" + OK, "computation: line 1: 'open' is not allowed"),
    ("globals", "g = globals()\\n" + OK, "computation: line 1: 'globals' is not allowed"),
    ("locals-in-a-lambda", "f = lambda: locals()\\n" + OK, "computation: line 1: 'locals' is not"),
    ("vars", "v = vars()\\n" + OK, "computation: line 1: 'vars' is not allowed"),
    ("getattr", "f = getattr(ops, 'matmul')\\n" + OK, "computation: line 1: 'getattr' is not"),
    ("setattr", "setattr(ops, 'matmul', 1)\\n" + OK, "computation: line 1: 'setattr' is not"),
    ("delattr", "delattr(ops, 'matmul')\\n" + OK, "computation: line 1: 'delattr' is not"),
    ("breakpoint", "breakpoint()\\n" + OK, "computation: line 1: 'breakpoint' is not allowed"),
    ("input", "n = input()\\n" + OK, "computation: line 1: 'input' is not allowed"),
    ("exit", "exit()\\n" + OK, "computation: line 1: 'exit' is not allowed"),
    ("dunder-attribute", "c = ops.__class__\\n" + OK, "computation: line 1: '__class__' is not"),
    ("dunder-globals", "g = ops.sum.__globals__\\n" + OK, "computation: line 1: '__globals__'"),
    ("dunder-builtins", "b = __builtins__\\n" + OK, "computation: line 1: '__builtins__' is not"),
    (
        "fullwidth-dunder-import",
        "m = __\\uff49\\uff4d\\uff50\\uff4f\\uff52\\uff54__('os')\\n" + OK,
        "computation: '__\\uff49\\uff4d\\uff50\\uff4f\\uff52\\uff54__' holds a character that "
        "Python reads as an ASCII one",
    ),
    (
        "fullwidth-ops",
        "return (\\uff4f\\uff50\\uff53.matmul(x, kernel) + bias) * scale\\n",
        "computation: '\\uff4f\\uff50\\uff53' holds a character that Python reads as an ASCII one",
    ),
    ("import-in-nested-def", "def f():\\n    import os\\n" + OK, "computation: line 2: imports"),
    ("nul", "y = 1  # \\0\\n" + OK, "computation: line 1: holds a NUL character"),
    ("escaped-surrogate", "y = '\\udfff'\\n" + OK, "computation: holds a lone surrogate"),
] + [
    # Jinja's `indent` splits lines here and Python does not: a comment
    # would end and `import os` become code of the generated module.
    (
        f"line-break-{escape[1:]}",
        f"# note{escape}import os\\n" + OK,
        "computation: line 1: holds U+",
    )
    for escape in ESCAPES_ONLY_JINJA_SPLITS
]

# Computations that look odd and are fine: `check` must accept them.
GOOD_COMPUTATIONS = [
    (
        "nested-class",
        "class Scaled:\\n    factor = scale\\n"
        + "return (ops.matmul(x, kernel) + bias) * Scaled.factor\\n",
    ),
    ("while-true", "while True:\\n    " + OK),
    ("if-else", "if units > 2:\\n    " + OK + "else:\\n    return x * kernel * bias * scale\\n"),
    ("try-except", "try:\\n    " + OK + "except ValueError:\\n    raise\\n"),
    (
        "match-wildcard",
        "match units:\\n    case 1:\\n        " + OK + "    case _:\\n        " + OK,
    ),
    ("comment-first-indented", "  # scaled projection\\n" + OK),
    ("ops-only-in-a-comment", "# no ops here\\nreturn (x @ kernel + bias) * scale\\n"),
    (
        "nested-def-reads-weight",
        "def f(v):\\n    return v * scale\\nreturn f(ops.matmul(x, kernel) + bias)\\n",
    ),
    (
        "local-named-like-a-builtin",
        "input = x\\nreturn (ops.matmul(input, kernel) + bias) * scale\\n",
    ),
    (
        "non-ascii-identifier",
        "\\u03c3 = ops.matmul(x, kernel)\\nreturn (\\u03c3 + bias) * scale\\n",
    ),
    ("escaped-separator-in-text", "note = '\\\\u2028'\\nif note:\\n    " + OK + "return x\\n"),
]

# Text that would rewrite the user's terminal or break the one-line promise,
# echoed back in messages: (case id, spec file, problem lines, what the first
# line shows instead of the raw characters).
ECHOED = [
    ("escape-clears-screen", 'layer_name: "A\\e[2J\\e[H"\n', 2, r"'A\u001b[2J\u001b[H'"),
    ("carriage-return", 'layer_name: "Good\\rBad"\n', 2, r"'Good\rBad'"),
    ("line-separators", 'layer_name: "A\\u2028B\\u2029C\\x85D"\n', 2, r"'A\u2028B\u2029C\u0085D'"),
    ("nul", 'layer_name: "A\\0B"\n', 2, r"'A\u0000B'"),
    ("bell-and-backspace", 'package_name: "a\\a\\b"\n', 1, r"'a\u0007\b'"),
    ("unknown-question", '"\\e]0;owned\\a": 1\n', 1, r"\x1b]0;owned\x07: unknown question"),
    (
        "unknown-weight-key",
        'weights: [{name: k, shape: [2], "\\e[31m": 1}]\n',
        1,
        r".\x1b[31m: unknown key",
    ),
]


def write(tmp_path, content):
    spec = tmp_path / "spec.yml"
    if isinstance(content, bytes):
        spec.write_bytes(content)
    else:
        spec.write_text(content, encoding="utf-8")
    return spec


def check(tmp_path, capsys, content):
    spec = write(tmp_path, content)
    capsys.readouterr()
    status = main(["check", str(spec)])
    out, err = capsys.readouterr()
    return status, out, err


def assert_refused(status, out, err, expected):
    assert status == 2 and out == "", out + err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines and lines[0].startswith(expected), err
    assert all(line.isprintable() for line in lines), err


def cases(table):
    return pytest.mark.parametrize(
        ("content", "expected"), [c[1:] for c in table], ids=[c[0] for c in table]
    )


@cases(BAD_FILES)
def test_hostile_files_are_refused_in_one_line(tmp_path, capsys, content, expected):
    status, out, err = check(tmp_path, capsys, content)
    if expected.startswith("spec.yml"):
        expected = str(tmp_path / expected)
    assert_refused(status, out, err, expected)
    assert len(err.splitlines()) == 1, err


@cases(BAD_COMPUTATIONS)
def test_hostile_computations_are_refused_with_their_line(tmp_path, capsys, content, expected):
    assert_refused(*check(tmp_path, capsys, computation(content)), expected)


@pytest.mark.parametrize(
    "body", [c[1] for c in GOOD_COMPUTATIONS], ids=[c[0] for c in GOOD_COMPUTATIONS]
)
def test_awkward_computations_that_work_are_accepted(tmp_path, capsys, body):
    status, out, err = check(tmp_path, capsys, computation(body))
    assert status == 0 and out.startswith("ok: "), err


@pytest.mark.parametrize(
    ("content", "count", "escaped"), [c[1:] for c in ECHOED], ids=[c[0] for c in ECHOED]
)
def test_messages_escape_what_they_echo(tmp_path, capsys, content, count, escaped):
    status, out, err = check(tmp_path, capsys, content)
    assert status == 2 and "Traceback" not in err
    assert err.count("\n") == count and err.endswith("\n"), repr(err)
    assert err[:-1].replace("\n", "").isprintable(), repr(err)
    assert escaped in err.splitlines()[0], err


def test_every_catalog_spec_passes_the_computation_checks(tmp_path, capsys):
    """The conservative checks (paths that fall off, unread weights) refuse
    no real layer: the catalog's and the README's default."""
    for spec in [*CATALOG, write(tmp_path, "{}\n")]:
        capsys.readouterr()
        assert main(["check", str(spec)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    ("body", "uses_ops"),
    [
        ("return ops.relu(x)\n", True),
        ("# ops.relu would clip\nreturn x\n", False),
        ("s = 'ops'\nreturn x\n", False),
        ("ops = keras.ops\nreturn ops.relu(x)\n", False),
        ("return \uff4f\uff50\uff53.relu(x)\n", True),
        ("f = lambda v: ops.relu(v)\nreturn f(x)\n", True),
    ],
    ids=["call", "comment", "text", "local", "fullwidth", "lambda"],
)
def test_uses_ops_is_what_python_reads(body, uses_ops):
    """What the generated module must import: `ops` only where Python reads it."""
    assert analyse(body, {"x", "ops", "keras"}).uses_ops is uses_ops


@pytest.mark.parametrize(
    ("encoding", "mark"),
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
    ],
)
def test_spec_files_with_a_byte_order_mark_are_read(tmp_path, capsys, encoding, mark):
    text = "description: D\u00e9j\u00e0 vu \u2014 \u6771\u4eac\nexample_input_shape: [4, 16]\n"
    status, out, err = check(tmp_path, capsys, mark + text.encode(encoding))
    assert status == 0 and out.startswith("ok: ") and "input [4, 16]" in out, err


def test_spec_files_are_utf8_whatever_the_locale(tmp_path):
    spec = write(tmp_path, "description: D\u00e9j\u00e0 vu \u2014 \u6771\u4eac\n")
    ascii_locale = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    proc, _, _ = check_process(spec, **ascii_locale)
    assert proc.returncode == 0 and proc.stdout.startswith("ok: "), proc.stderr
    bad = write(tmp_path, 'layer_name: "Caf\\u00e9\\e[2J"\n')
    proc, _, _ = check_process(bad, **ascii_locale)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("layer_name: 'Caf"), proc.stderr


@pytest.mark.parametrize("limit", ["0", "640", "4300"])
def test_long_ints_whatever_the_process_int_limit(tmp_path, limit):
    """Python's int <-> text limit changes what `int()` and `str()` accept:
    the answer must not."""
    long_name = write(tmp_path, f"layer_name: {'7' * 640}\n")
    proc, _, _ = check_process(long_name, PYTHONINTMAXSTRDIGITS=limit)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("layer_name: '777") and "not a CamelCase" in proc.stderr
    too_long = write(tmp_path, f"example_input_shape: [8, {'9' * 5000}]\n")
    proc, _, _ = check_process(too_long, PYTHONINTMAXSTRDIGITS=limit)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("example_input_shape[1]: an int of over 640 digits")


CRASHERS = {
    "nested-10000-deep": f"description: {nested(10_000)}\n",
    "expression-of-100000-terms": computation(
        "return " + "+".join(["x"] * 100_000) + " + kernel + bias + scale"
    ),
    "class-in-computation": computation("class A:\\n    y = foo\\n" + OK),
    "nonlocal-in-computation": computation("nonlocal y\\n" + OK),
}


@pytest.mark.parametrize("content", CRASHERS.values(), ids=CRASHERS.keys())
def test_no_traceback_from_a_real_process(tmp_path, content):
    """What once crashed the interpreter or printed its stack, run as users run it."""
    proc, _, _ = check_process(write(tmp_path, content))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr


def test_alias_bomb_is_refused_in_a_blink_and_a_few_megabytes(tmp_path):
    """Nine levels of ten aliases: 10**9 strings once expanded (the old
    `check` took 10 s and 1.1 GB for eight levels). Under a 512 MiB address
    space the refusal must take well under a second of CPU."""
    spec = write(tmp_path, alias_bomb(9))
    assert spec.stat().st_size < 600
    started = time.monotonic()
    proc, cpu, peak_kb = check_process(spec, timeout=30, limit_bytes=512 * 2**20)
    wall = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("description[4]: holds over 100,000 values"), proc.stderr
    assert cpu < 2 and wall < 10, (cpu, wall)
    assert peak_kb < 200 * 1024, peak_kb


def test_the_generated_spec_reads_back_when_the_first_line_is_indented(tmp_path, capsys):
    """specs/<module>.yml is the spec the next update reads: a computation
    opening with an indented comment must survive the trip."""
    body = "  # scaled projection\n\nreturn (ops.matmul(x, kernel) + bias) * scale\n"
    project = render(tmp_path / "project", {"computation": body})
    spec = project / "specs" / "scaled_dense.yml"
    assert yaml.safe_load(spec.read_text())["computation"] == body
    capsys.readouterr()
    assert main(["check", str(spec)]) == 0, capsys.readouterr().err
