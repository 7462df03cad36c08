"""The run's GX project: a throw-away `output_dir/gx/` built from the committed JSON.

The committed suites, validation definitions and checkpoints (`expectations/`) are copied
into the run folder, so the folder records exactly what was validated and GX never writes
into the repository. Stores and the Data Docs site use absolute paths (GX resolves relative
store paths against the current directory, not the project). Results go to
`output_dir/gx/results/`, Data Docs to `output_dir/gx/data_docs/index.html`.

GX is imported lazily (4-7 s) and with analytics off; each batch gets a fresh context
(reusing one across batches grows memory by ~95 MB a batch).
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from interestlab.memory import freeze_long_lived
from interestlab.quality.suites import (
    BATCH_DEFINITION,
    CHECKPOINTS,
    DATASOURCE,
    SUITES,
    VALIDATION_DEFINITIONS,
    load_document,
    stable_id,
)
from interestlab.storage import write_json, write_text

GX_FOLDER = "gx"
RESULTS = "results"
DATA_DOCS = "data_docs"
SITE = "run_site"
CONFIG_FILE = "great_expectations.yml"
# GX's own store folder names inside the run project (`expectations` holds suites).
_STORE_FOLDERS = {
    SUITES: "expectations",
    VALIDATION_DEFINITIONS: VALIDATION_DEFINITIONS,
    CHECKPOINTS: CHECKPOINTS,
}


def gx_root(output_dir: Path) -> Path:
    return Path(output_dir).resolve() / GX_FOLDER


def results_dir(output_dir: Path) -> Path:
    return gx_root(output_dir) / RESULTS


def data_docs_dir(output_dir: Path) -> Path:
    return gx_root(output_dir) / DATA_DOCS


def _store(class_name: str, folder: Path, **backend: Any) -> dict[str, Any]:
    return {
        "class_name": class_name,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(folder),
            **backend,
        },
    }


def project_config(root: Path, suite_names: list[str]) -> dict[str, Any]:
    """The run project's `great_expectations.yml` as a dict (one pandas dataframe asset per
    suite, ids matching the committed validation definitions)."""
    assets = {
        name: {
            "type": "dataframe",
            "id": stable_id("asset", name),
            "batch_metadata": {},
            "batch_definitions": {
                BATCH_DEFINITION: {
                    "id": stable_id("batch_definition", name),
                    "partitioner": None,
                }
            },
        }
        for name in sorted(suite_names)
    }
    return {
        "config_version": 4,
        "analytics_enabled": False,
        "progress_bars": {"globally": False, "metric_calculations": False},
        "stores": {
            "expectations_store": _store("ExpectationsStore", root / "expectations"),
            "validation_results_store": _store("ValidationResultsStore", root / RESULTS),
            "checkpoint_store": _store(
                "CheckpointStore", root / CHECKPOINTS, suppress_store_backend_id=True
            ),
            "validation_definition_store": _store(
                "ValidationDefinitionStore", root / VALIDATION_DEFINITIONS
            ),
        },
        "expectations_store_name": "expectations_store",
        "validation_results_store_name": "validation_results_store",
        "checkpoint_store_name": "checkpoint_store",
        "data_docs_sites": {
            SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(root / DATA_DOCS),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        "fluent_datasources": {
            DATASOURCE: {
                "type": "pandas",
                "id": stable_id("datasource", DATASOURCE),
                "assets": assets,
            }
        },
    }


def prepare_project(output_dir: Path, suite_name: str, *, expectations_dir: Path) -> Path:
    """Copy suite `suite_name` (with its validation definition and checkpoint) into the run
    project and (re)write its configuration; return the project root `output_dir/gx`."""
    root = gx_root(output_dir)
    for kind, folder in _STORE_FOLDERS.items():
        document = load_document(expectations_dir, kind, suite_name)
        write_json(document, root / folder / f"{suite_name}.json")
    (root / RESULTS).mkdir(parents=True, exist_ok=True)
    names = sorted(p.stem for p in (root / "expectations").glob("*.json"))
    config = project_config(root, names)
    write_text(yaml.safe_dump(config, sort_keys=False), root / CONFIG_FILE)
    return root


def import_gx() -> Any:
    """Import great_expectations with analytics off (slow: 4-7 s, so only when needed).

    After the first import its objects are frozen out of garbage collection
    (`memory.freeze_long_lived`), so the per-batch collections stay cheap.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    _freeze_once()
    return gx


@functools.cache
def _freeze_once() -> None:
    freeze_long_lived()


def fresh_context(output_dir: Path) -> Any:
    """A new file context on the run project (one per batch keeps memory flat)."""
    gx = import_gx()
    return gx.get_context(mode="file", project_root_dir=Path(output_dir).resolve())


def build_data_docs(output_dir: Path) -> Path:
    """Build GX Data Docs for every suite and result of the run project; return index.html."""
    context = fresh_context(output_dir)
    context.build_data_docs(site_names=[SITE])
    index = data_docs_dir(output_dir) / "index.html"
    if not index.is_file():
        msg = f"GX Data Docs: expected {index} after build_data_docs, found no such file"
        raise FileNotFoundError(msg)
    return index


def reset_project(output_dir: Path) -> None:
    """Remove a previous run's GX project under `output_dir` (results and docs included)."""
    root = gx_root(output_dir)
    if root.exists():
        shutil.rmtree(root)
