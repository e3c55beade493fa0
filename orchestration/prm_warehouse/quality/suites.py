"""Finding and loading the suite modules of ``expectations/``.

``expectations/raw/<source>.py`` and ``expectations/marts/<mart>.py`` each define ``SUITE``
(a :class:`SuiteInfo`) and ``build(ctx) -> Suite``. The folder is not a Python package of the
project: the modules are loaded from their files, so the suites version with the repository
and need no installation step.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal

from ..raw.contract import SOURCES
from ..settings import EXPECTATIONS_DIR
from .spec import Suite, SuiteContext, SuiteInfo

SuiteLayer = Literal["raw", "marts"]

MART_NAMES: tuple[str, ...] = (
    "dim_partner",
    "dim_partner_individual",
    "fct_deal_funnel",
    "fct_funnel_person",
    "fct_funnel_partner",
    "fct_kpi_monthly",
    "fct_kpi_target_gap",
    "fct_key_person_engagement",
    "fct_learning_progress",
    "fct_content_engagement",
    "fct_support_priority",
)


@dataclass(frozen=True)
class SuiteModule:
    info: SuiteInfo
    path: Path
    module: ModuleType

    def build(self, ctx: SuiteContext) -> Suite:
        suite = self.module.build(ctx)
        if not isinstance(suite, Suite) or suite.info != self.info:
            raise TypeError(f"{self.path}: build() must return a Suite for its SUITE")
        return suite


def _load(path: Path, layer: SuiteLayer) -> SuiteModule:
    module_name = f"prm_warehouse_expectations.{layer}.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: not a loadable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    info = getattr(module, "SUITE", None)
    if not isinstance(info, SuiteInfo) or not callable(getattr(module, "build", None)):
        raise TypeError(f"{path}: a suite module defines SUITE (SuiteInfo) and build(ctx)")
    return SuiteModule(info=info, path=path, module=module)


def load_suite_modules(
    layer: SuiteLayer, expectations_dir: Path = EXPECTATIONS_DIR
) -> dict[str, SuiteModule]:
    """The suite modules of one layer, keyed by source or mart name, in the expected order.

    Raises FileNotFoundError naming the missing file when a source or mart has no suite.
    """
    names = [source.name for source in SOURCES] if layer == "raw" else list(MART_NAMES)
    folder = expectations_dir / layer
    modules: dict[str, SuiteModule] = {}
    for name in names:
        path = folder / f"{name}.py"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no expectation suite for {layer} table {name}")
        modules[name] = _load(path, layer)
    return modules
