"""Every docstring example in the package runs and prints what it shows (the house rule: public
functions carry a runnable example)."""
import doctest
import importlib
import pkgutil

import pytest

import tapeflow

MODULES = sorted(m.name for m in pkgutil.walk_packages(tapeflow.__path__, "tapeflow."))
for _name in MODULES:  # import everything first: a lazy submodule import binding a new package attribute
    importlib.import_module(_name)  # while doctest walks that package's namespace would break the walk


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, capsys):
    module = importlib.import_module(name)
    tapeflow.keras.backend.clear_session()   # each module's examples start as a fresh session would
    tapeflow.random.set_seed(0)               # and the same random state, whatever ran before
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)
    out = capsys.readouterr().out
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed\n{out}"

