"""The NBGrader answer cells of every complete module define their function in a bare notebook namespace:
a signature that annotates with the framework's names (`g: Graph`, `-> Node`) must not need them there."""
import pytest

from tinytorch.course import modules as M
from tinytorch.course import nbgrader_export as E
from tinytorch.course import regions as R
from tinytorch.course.workspace import ROOT

REGIONS = [name for m in M.MODULES if m.complete for name in m.regions]


@pytest.mark.parametrize("name", REGIONS)
def test_answer_cell_defines_its_function_without_the_framework_s_names(name):
    source, fn = E._function_cell(R.find_all(ROOT)[name])
    definition = source.split("\n_course_install(")[0]  # the install call would swap the framework's code
    namespace = {}
    exec(compile(definition, f"<answer cell {name}>", "exec"), namespace)
    assert callable(namespace[fn])
