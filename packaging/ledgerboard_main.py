"""The frozen app's entry point: the same `main` as `python -m desktop`, and the store's
writer process when started with its flag (a frozen app has no `python -m`)."""

import sys

# Standard library only, and the app imports all of it anyway.
from desktop.store.writer_process import FROZEN_FLAG
from desktop.store.writer_process import main as writer_main

if __name__ == "__main__":
    if sys.argv[1:2] == [FROZEN_FLAG]:
        sys.exit(writer_main())
    from desktop.__main__ import main

    sys.exit(main())
