"""generator/layer_files.py renders a layer's module and test as Copier does:
`check` builds the module it renders, and the mutation suite renders its
mutants with it, so both must be what users get, byte for byte."""

import pytest

from generator import layer_files
from generator.spec import parse
from rendering import CATALOG, PARTIAL_SPECS, load_spec

SPECS = {"default": {}, **{p.stem: load_spec(p) for p in CATALOG}, **PARTIAL_SPECS}


@pytest.mark.parametrize("answers", SPECS.values(), ids=SPECS.keys())
def test_a_layers_files_are_what_copier_renders(catalog_project, answers):
    spec = parse(answers)
    module, test = layer_files.paths(spec)
    assert layer_files.module_source(spec) == (catalog_project / module).read_text()
    assert layer_files.test_source(spec) == (catalog_project / test).read_text()
