"""Interactive `copier copy`, the real CLI in a pseudo-terminal of 80 columns,
as a user answers it: no answer sequence ends in a traceback, a bad answer is
refused with `generator check`'s message and can be fixed in place, Ctrl-C
leaves nothing behind, and every help line can be read whole.

The questions are walked in `copier.yml`'s order and recognised by their help
text, so the tests follow the questions as they change.
"""

import subprocess
import sys

import yaml
from prompt_toolkit.utils import get_cwidth

from rendering import REPO, load_spec
from terminal import (
    ALT_ENTER,
    COLUMNS,
    CTRL_C,
    CTRL_U,
    ENTER,
    Terminal,
    clear,
    python,
    rule_message,
)

QUESTIONS = {
    name: settings
    for name, settings in yaml.safe_load((REPO / "copier.yml").read_text()).items()
    if not name.startswith("_") and settings.get("when") is not False
}
# Copier draws "🎤 " (three columns) before a question's help.
PROMPT_MARK = 3


def shown(name):
    """How to recognise a question: the start of its help (Copier shows the
    help in place of the name), short enough to be drawn even where a long
    help line is cut."""
    return (QUESTIONS[name].get("help") or name).split("{{")[0][:40].strip()


def copier_copy(cwd):
    return Terminal(
        *python("-m", "copier", "copy", "--vcs-ref=HEAD", str(REPO), "my-layers"), cwd=cwd
    )


def keys(name):
    """The keys that erase a question's proposed answer, and that submit one."""
    if QUESTIONS[name].get("multiline") is True:
        return clear(), ALT_ENTER
    return CTRL_U, ENTER


def walk(user, answers, after=None, until=None):
    """Answer the questions in order, from the one `after` to the one `until`
    (left unanswered): typed from `answers`, else the default."""
    names = list(QUESTIONS)
    for name in names[names.index(after) + 1 if after else 0 :]:
        if name == until:
            user.expect(shown(name))
            return
        erase, submit = keys(name)
        if name in answers:
            user.answer(shown(name), answers[name], erase=erase, submit=submit)
        else:
            user.press(shown(name), submit)


def rendered_spec(tmp_path, user):
    """The spec of the one layer rendered into my-layers, once `generator
    check` has passed it."""
    assert user.finish() == 0, user.transcript()[-3000:]
    assert "Traceback" not in user.transcript()
    (spec,) = (tmp_path / "my-layers" / "specs").glob("*.yml")
    check = subprocess.run(
        [sys.executable, "-m", "generator", "check", str(spec)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    return load_spec(spec)


def test_no_hyperparameter_then_every_default(tmp_path):
    user = copier_copy(tmp_path)
    walk(user, {"layer_name": "ChannelGain", "hyperparameters": "[]"})
    spec = rendered_spec(tmp_path, user)
    assert spec["hyperparameters"] == []
    assert (tmp_path / "my-layers" / "src" / "custom_layers" / "channel_gain.py").is_file()


def test_a_bool_hyperparameter_only_then_every_default(tmp_path):
    user = copier_copy(tmp_path)
    walk(
        user,
        {
            "layer_name": "Centered",
            "hyperparameters": "[{name: center, type: bool, default: true}]",
        },
    )
    spec = rendered_spec(tmp_path, user)
    assert spec["hyperparameters"] == [{"name": "center", "type": "bool", "default": True}]


def test_a_4d_layer_gets_an_example_input_of_its_rank(tmp_path):
    user = copier_copy(tmp_path)
    walk(
        user,
        {
            "layer_name": "ColumnGain",
            "weights": '[{name: gain, shape: ["input_shape[2]", "input_shape[3]"], initializer: ones}]',
            "computation": "return x * gain",
        },
    )
    spec = rendered_spec(tmp_path, user)
    assert len(spec["example_input_shape"]) >= 4
    assert spec["computation"].strip() == "return x * gain"


def test_a_typo_is_refused_with_the_rule_message_then_fixed_in_place(tmp_path):
    weights = "[{name: kernel, shape: [input_dim, units], initializer: random_normall}]"
    user = copier_copy(tmp_path)
    walk(user, {"layer_name": "Projection"}, until="weights")
    erase, submit = keys("weights")
    user.send(erase + weights + submit)
    # Copier's error bar is one row: the rule's message shows as far as it fits.
    problem = rule_message({"weights": yaml.safe_load(weights)}, "weights[0].initializer")
    user.expect(f"Validation error for question 'weights': {problem}"[:COLUMNS])
    user.send(erase + weights.replace("normall", "normal") + submit)
    walk(user, {"computation": "return ops.matmul(x, kernel)"}, after="weights")
    spec = rendered_spec(tmp_path, user)
    assert spec["weights"][0]["initializer"] == "random_normal"


def test_ctrl_c_leaves_nothing_behind(tmp_path):
    user = copier_copy(tmp_path)
    walk(user, {"layer_name": "Projection"}, until="weights")
    user.send(CTRL_C)
    assert user.finish() != 0
    assert "Traceback" not in user.transcript()
    assert list(tmp_path.iterdir()) == []


def test_every_help_line_fits_80_columns(tmp_path):
    user = copier_copy(tmp_path)
    walk(user, {})
    rendered_spec(tmp_path, user)
    screen = user.transcript()
    too_wide, cut = [], []
    for name, settings in QUESTIONS.items():
        for n, line in enumerate((settings.get("help") or "").splitlines()):
            if (PROMPT_MARK if n == 0 else 0) + get_cwidth(line) > COLUMNS:
                too_wide.append(f"{name}: {line}")
            elif line.strip() not in screen:
                cut.append(f"{name}: {line}")
    assert not too_wide, "help lines wider than 80 columns:\n" + "\n".join(too_wide)
    assert not cut, "help lines not shown whole:\n" + "\n".join(cut)
