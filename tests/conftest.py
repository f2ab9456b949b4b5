import pytest

from mutants import VERDICTS, kill_table
from rendering import BACKENDS, CATALOG, PARTIAL_SPECS, ProjectRun, load_spec, render


@pytest.fixture(scope="session")
def catalog_project(tmp_path_factory):
    """One project holding the default layer and every catalog layer, as a
    team's starter kit would: rendered by real Copier, one copy per layer."""
    project = render(tmp_path_factory.mktemp("catalog") / "project")
    for spec in CATALOG:
        render(project, load_spec(spec))
    for spec in PARTIAL_SPECS.values():
        render(project, spec)
    return project


@pytest.fixture(scope="session")
def catalog_runs(catalog_project):
    """The project's own tests on every backend, all started at once, each
    in a process of its own."""
    return {backend: ProjectRun(catalog_project, backend) for backend in BACKENDS}


@pytest.fixture(scope="session", autouse=True)
def catalog_runs_in_the_background(request):
    """The catalog's runs take minutes: when any collected test reads them,
    they start with the session's first test, the rest of the suite runs
    meanwhile, and the tests that wait for them come last."""
    if any("catalog_runs" in item.fixturenames for item in request.session.items):
        request.getfixturevalue("catalog_runs")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: "catalog_runs" in item.fixturenames)


def pytest_terminal_summary(terminalreporter, config):
    """The mutation kill table (tests/test_mutants.py), whenever mutants ran."""
    verdicts = config.stash.get(VERDICTS, None)
    if verdicts:
        terminalreporter.write_sep("-", "mutation kill table")
        for line in kill_table(verdicts):
            terminalreporter.write_line(line)
