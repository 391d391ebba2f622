"""`streamlit run app/main.py` puts app/ at the front of sys.path, so a module there named like an installed package
hides it from everything the app imports: app/github.py once made PyGithub's `import github` load the app's file
(ImportError at the first page). AppTest does not put app/ on the path, so only this test sees it coming."""

import pkgutil
import sys

from tests.app.conftest import ROOT

APP = ROOT / "app"


def top_level_names() -> set[str]:
    """Modules importable without app/ on the path: installed packages, the standard library, built-ins."""
    path = [p for p in sys.path if p and (ROOT / p).resolve() != APP]
    return {m.name for m in pkgutil.iter_modules(path)} | set(sys.stdlib_module_names) | set(sys.builtin_module_names)


def test_no_module_of_the_app_hides_an_installed_one():
    mine = {p.stem for p in APP.glob("*.py")} | {p.name for p in APP.iterdir() if (p / "__init__.py").is_file()}
    assert mine & top_level_names() == set(), "rename these app/ modules: they hide installed ones under streamlit"


def test_the_check_sees_a_module_that_hides_one():
    assert {"github", "yaml", "json"} <= top_level_names()
