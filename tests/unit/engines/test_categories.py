import subprocess
import sys

from engines.categories import CATEGORIES


def test_categories_are_unique_lowercase_names() -> None:
    assert len(CATEGORIES) == len(set(CATEGORIES)) >= 10
    assert all(name == name.strip().lower() and name for name in CATEGORIES)


def test_importing_the_package_leaves_the_model_stack_unloaded() -> None:
    # The song service imports engines for CATEGORIES and the limits only.
    code = (
        "import sys, engines; engines.CATEGORIES; engines.limits.MAX_SEED; "
        "heavy = {'torch', 'transformers', 'diffusers'} & set(sys.modules); "
        "sys.exit(f'imported {heavy}' if heavy else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
