"""YAML read with bounds on everything, before any value is built.

A few hundred bytes of YAML can ask for anything: a billion values through
nested aliases, a list nested ten thousand deep (PyYAML recurses once per
level), an int of a million digits. Whatever reads YAML a user wrote (a spec
file, the text given for a YAML question, a project's settings) reads it
here, and what exceeds a bound is refused in one line naming the field.
"""

import re
import sys

import yaml

# Specs are a few kilobytes; these bounds are far above any real one.
MAX_DEPTH = 32
# Values plus characters of text, counted as if every alias were written out.
MAX_EXPANDED = 100_000
# The lowest bound Python may put on int <-> text conversion
# (`sys.set_int_max_str_digits`, PYTHONINTMAXSTRDIGITS): an int within it can
# be read and written back in any process, Copier's included.
MAX_INT_DIGITS = sys.int_info.str_digits_check_threshold
INT_BOUND = 10**MAX_INT_DIGITS

INT_TAG = "tag:yaml.org,2002:int"
MERGE_TAG = "tag:yaml.org,2002:merge"
SURROGATE = re.compile(r"[\ud800-\udfff]")


def load(text, field=None):
    """`yaml.safe_load` of `text`, measured before it is built; `field` is
    where the text was given (None: a whole file). Raises `yaml.YAMLError`
    or `TooMuch`."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _Bounds().check(node, field)
        return loader.construct_document(node)
    finally:
        loader.dispose()


class TooMuch(Exception):
    """A spec over one of the bounds (a one-line message naming the field)."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, bounded in depth while it composes (its composer
    recurses once per level)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent, index):
        if self.depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node, deep=False):
        """Any value YAML's own constructors fail on (`!!int abc`, a date
        that does not exist) is invalid YAML at its line, not a crash."""
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError):
            tag = node.tag.rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"the value is not a valid {tag}", node.start_mark
            ) from None


class _Bounds:
    """What the composed document would expand to, worked out without
    expanding it: each node is measured once, an alias reuses the measure."""

    def __init__(self):
        self.measured = {}  # id(node) -> (size, depth)
        self.open = set()  # ids of nodes being measured: meeting one is a cycle

    def check(self, node, field):
        """(size, depth) of the node; `field` is its path (None: the root)."""
        key = id(node)
        if key in self.measured:
            return self.measured[key]
        if key in self.open:
            raise TooMuch(
                f"{field or 'spec'}: a YAML alias refers to the value that contains it "
                f"(line {node.start_mark.line + 1}); a spec cannot be recursive"
            )
        self.open.add(key)
        if isinstance(node, yaml.ScalarNode):
            size, depth = 1 + len(node.value), 0
            if SURROGATE.search(node.value):
                raise TooMuch(
                    f"{field or 'spec'}: holds a lone surrogate (line {node.start_mark.line + 1}), "
                    "which is not text in any encoding"
                )
            if node.tag == INT_TAG and _too_long(node.value):
                raise TooMuch(
                    f"{field or 'spec'}: an int of over {MAX_INT_DIGITS} digits "
                    f"(line {node.start_mark.line + 1}); no spec needs one"
                )
        else:
            size, depth = 1, 0
            for child, where in self._children(node, field):
                child_size, child_depth = self.check(child, where)
                size += child_size
                depth = max(depth, child_depth + 1)
        self.open.discard(key)
        line = node.start_mark.line + 1
        if size > MAX_EXPANDED:
            raise TooMuch(
                f"{field or 'spec'}: holds over {MAX_EXPANDED:,} values and characters "
                f"(line {line}, counting what YAML aliases repeat); a spec is a few kilobytes"
            )
        if depth > MAX_DEPTH:
            raise TooMuch(
                f"{field or 'spec'}: nested deeper than {MAX_DEPTH} levels through YAML aliases (line {line})"
            )
        self.measured[key] = size, depth
        return size, depth

    @staticmethod
    def _children(node, field):
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                yield item, f"{field}[{i}]"
            return
        # YAML gives a key written twice the last value, and the first is
        # lost without a word; a merge (`<<`) may override, as it says.
        seen = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else "?"
            if isinstance(key, yaml.ScalarNode) and key.tag != MERGE_TAG:
                first = seen.setdefault((key.tag, key.value), key)
                if first is not key:
                    line = first.start_mark.line + 1
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"key '{name}' is given twice (first at line {line})",
                        key.start_mark,
                    )
            where = name if field is None else f"{field}.{name}"
            yield key, where
            yield value, where


def _too_long(int_text):
    """Whether a YAML int (`-1_000`, `0x1f`, `017`, `0b101`, `1:30`) has more
    decimal digits than MAX_INT_DIGITS, found without `int()` on decimal
    text, which the very limit refuses."""
    digits = int_text.replace("_", "").lstrip("+-")
    if digits[:2] in ("0b", "0x") or (digits.startswith("0") and digits.isdigit()):
        base = {"0b": 2, "0x": 16}.get(digits[:2], 8)
        try:  # no limit for these bases: int() is linear in the digits
            return abs(int(digits[2:] if base != 8 else digits, base)) >= INT_BOUND
        except ValueError:  # not an int at all: construction says so, at its line
            return False
    # Decimal or base 60: each digit at most multiplies the value by ten.
    return sum(c.isdigit() for c in digits) > MAX_INT_DIGITS
