import threading
from datetime import date
from pathlib import Path

import nbformat
import pytest

from interestlab.errors import RunLockedError
from interestlab.orchestration import RunFailedError, read_run, run_notebooks, workspace_lock


def write_notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('as_of = ""\noutput_dir = ""\nrun_id = ""\nseed = 0')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(s) for s in sources)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(
        nbs / "a.ipynb",
        "from pathlib import Path\nPath(output_dir, 'a.txt').write_text(as_of + str(seed))",
    )
    write_notebook(nbs / "b.ipynb", "x = 1", "raise ValueError('induced failure in b')")
    write_notebook(
        nbs / "c.ipynb", "from pathlib import Path\nPath(output_dir, 'c.txt').write_text('c')"
    )
    return nbs


@pytest.mark.slow
def test_chain_passes_parameters_and_records_the_run(chain: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = run_notebooks(
        date(2026, 11, 15),
        parameters={"seed": 7},
        notebooks=("a.ipynb", "c.ipynb"),
        runs_dir=runs,
        notebooks_dir=chain,
        run_id="r1",
    )
    assert (first.run_dir / "a.txt").read_text() == "2026-11-157"
    assert read_run(first.run_dir)["status"] == "succeeded"
    assert first.replaced is None
    second = run_notebooks(
        date(2026, 11, 15),
        parameters={"seed": 7},
        notebooks=("a.ipynb",),
        runs_dir=runs,
        notebooks_dir=chain,
        run_id="r2",
    )
    assert second.replaced == "r1"
    assert (runs / "current-2026-11-15").resolve() == second.run_dir.resolve()


@pytest.mark.slow
def test_failing_notebook_stops_the_chain_and_keeps_the_partial(
    chain: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    with pytest.raises(
        RunFailedError, match=r"stopped at notebook b.ipynb, cell .*induced failure in b"
    ):
        run_notebooks(
            date(2026, 11, 15),
            parameters={},
            notebooks=("a.ipynb", "b.ipynb", "c.ipynb"),
            runs_dir=runs,
            notebooks_dir=chain,
            run_id="r1",
        )
    run_dir = runs / "r1"
    assert (run_dir / "notebooks" / "b.ipynb").exists()
    assert not (run_dir / "c.txt").exists()
    assert read_run(run_dir)["failed"]["notebook"] == "b.ipynb"
    assert not (runs / "current-2026-11-15").exists()


def test_second_run_while_one_is_active_exits_cleanly(tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with workspace_lock(tmp_path):
            entered.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(10)
    try:
        with (
            pytest.raises(RunLockedError, match=r"another interestlab run holds the lock .*pid"),
            workspace_lock(tmp_path),
        ):
            pass
    finally:
        release.set()
        holder.join()
    with workspace_lock(tmp_path):  # free again
        pass


@pytest.mark.slow
def test_kernels_talk_over_unix_sockets_removed_after_the_run(
    tmp_path: Path, capfd: pytest.CaptureFixture
) -> None:
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(
        nbs / "k.ipynb",
        "from pathlib import Path\nfrom ipykernel.kernelapp import IPKernelApp\n"
        "app = IPKernelApp.instance()\n"
        "Path(output_dir, 'kernel.txt').write_text(f'{app.transport} {app.ip}')",
    )
    result = run_notebooks(
        date(2026, 11, 15),
        parameters={},
        notebooks=("k.ipynb",),
        runs_dir=tmp_path / "runs",
        notebooks_dir=nbs,
        run_id="k1",
    )
    transport, prefix = (result.run_dir / "kernel.txt").read_text().split(" ", 1)
    assert transport == "ipc"
    assert Path(prefix).name == "kernel" and not Path(prefix).parent.exists()  # cleaned up
    assert "without encryption" not in capfd.readouterr().err


def test_kernel_options_keep_tcp_where_a_socket_path_would_be_too_long(tmp_path: Path) -> None:
    from interestlab.orchestration import kernel_options

    config = kernel_options(tmp_path)["config"]
    assert config.KernelManager.transport == "ipc"
    assert config.KernelManager.ip == str(tmp_path / "kernel")
    assert kernel_options(tmp_path / ("x" * 120)) == {}
