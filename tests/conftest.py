"""What the whole test suite shares.

- One thread per process: the tiny models run faster so, and with pytest-xdist's one worker per
  core (pytest.ini) the workers and the scripts they start do not compete for the cores.
- The `slow` tests (pytest.ini: DDP, torch.compile, the browser, the demo, and the trainings
  that wait for a signal) run first, so that under xdist none of them starts last and keeps one
  core busy after the rest are done. `pytest -m "not slow"` leaves them out, for a quick loop.

Folders that several tests read (a prepared corpus, trained tiny checkpoints) are built once per
run by tests/shared_folders.py."""

import os

os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('MKL_NUM_THREADS', '1')


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker('slow') is None)  # stable: the order otherwise
