"""Packaging hook: an installed `generator` carries the Copier template.

`keras-layer check` and `new` need copier.yml, template/ and the Jinja rules
they import; from a checkout they read them in place (generator/template.py).
A wheel gets a copy of them under `generator/_template/`, laid out as in the
repository, so that the same relative imports (`generator/includes/...`)
resolve there too. Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATE_FILES = ["copier.yml", "template", "generator/includes", "generator/keras_names.json"]


class build_py_with_template(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return
        bundle = Path(self.build_lib) / "generator" / "_template"
        for name in TEMPLATE_FILES:
            source, target = Path(name), bundle / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)


setup(cmdclass={"build_py": build_py_with_template})
