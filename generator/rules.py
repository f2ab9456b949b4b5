"""The spec's rules, defaults and normalized form, run as Copier runs them.

They are Jinja macros in ``generator/includes/``, written once: Copier runs
them as its questions' validators and defaults, and this module runs the same
macros in a Jinja environment built as Copier builds its own (sandboxed, the
Ansible filters Copier loads, the template's ``_envops``). So `generator
check` and Copier cannot disagree, and no rule needs `--trust`.
"""

import json
from functools import cache, partial

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from generator import bounded_yaml
from generator.template import COPIER_YML, ROOT

# Copier loads these filters (regex_search, to_json, ...) for every template.
_COPIER_EXTENSIONS = ["jinja2_ansible_filters.AnsibleCoreFiltersExtension"]
_UNDEFINED = {
    "jinja2.Undefined": jinja2.Undefined,
    "jinja2.StrictUndefined": jinja2.StrictUndefined,
}
_PROBLEMS = (
    "{% from 'generator/includes/rules.jinja' import problems with context %}"
    "{{ problems(question, reading=reading) }}"
)


# copier.yml is ours and well-formed: libyaml's loader, where PyYAML has it,
# reads it in a seventh of the time (a sixth of `generator check`'s own work).
_CONFIG_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def copier_config():
    """copier.yml: the questions, in order, and the template's settings."""
    return yaml.load(COPIER_YML.read_text(encoding="utf-8"), Loader=_CONFIG_LOADER)


def questions():
    """Each question's settings, in the order Copier asks them."""
    return {name: q for name, q in copier_config().items() if not name.startswith("_")}


@cache
def environment():
    envops = dict(copier_config().get("_envops", {}))
    envops["undefined"] = _UNDEFINED[envops.get("undefined", "jinja2.Undefined")]
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(ROOT),
        extensions=_COPIER_EXTENSIONS,
        # Compiling the rules costs more than running them: Jinja's own cache
        # (in the temporary folder, keyed by each template's source) keeps
        # `generator check` quick after its first run.
        bytecode_cache=jinja2.FileSystemBytecodeCache(),
        **envops,
    )
    env.filters["to_json"] = partial(env.filters["to_json"], default=_jsonable)
    return env


def _jsonable(value):
    """What JSON cannot hold (bytes, dates), as Copier's `to_json` writes it."""
    from pydantic_core import to_jsonable_python  # Copier's own dependency

    return to_jsonable_python(value)


def render(source, context):
    return _compiled(source).render(context)


@cache
def _compiled(source):
    # The same few sources (a question's default, the problems of one) are
    # rendered again and again: each is compiled once.
    return environment().from_string(source)


class CastError(ValueError):
    """An answer Copier could not cast to its question's type either."""


def cast(question, value):
    """An answer as Copier casts it to its question's type: text given for a
    YAML or JSON question is parsed, as Copier parses it."""
    kind = questions()[question].get("type", "yaml")
    if isinstance(value, bytes | bytearray):  # YAML's !!binary: Copier decodes it
        try:
            value = value.decode()
        except UnicodeDecodeError:
            raise CastError(f"{question}: binary data that is not UTF-8 text") from None
    if kind == "str":
        if value is None or isinstance(value, str | int | float):
            return value if value is None else str(value)
        # Copier stops on it with a traceback ("Could not convert ... to string").
        raise CastError(f"{question}: must be text, not {type(value).__name__} (quote it)")
    if kind in ("yaml", "json") and isinstance(value, str):
        try:
            return bounded_yaml.load(value, question) if kind == "yaml" else json.loads(value)
        except bounded_yaml.TooMuch as error:
            raise CastError(str(error)) from None
        except (yaml.YAMLError, ValueError, RecursionError) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise CastError(
                f"{question}: text that is not valid {kind.upper()} ({reason})"
            ) from None
    return value


def default(question, answers):
    """A question's default, worked out from the answers before it."""
    value = questions()[question].get("default")
    if isinstance(value, str):
        value = render(value, answers)
        if questions()[question].get("type") == "str":
            return value
        return cast(question, value)
    return value


def problems(question, answers, reading=True):
    """Every problem of one answer, given the answers (earlier ones at least);
    without `reading`, the computation's names are not read."""
    text = render(_PROBLEMS, {**answers, "question": question, "reading": reading})
    return text.splitlines()
