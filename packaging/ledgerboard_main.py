"""The frozen app's entry point: the same `main` as `python -m desktop`, and the store's
writer process when started with its flag (a frozen app has no `python -m`)."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["--store-writer"]:  # desktop.store.writer_process.FROZEN_FLAG
        from desktop.store.writer_process import main as writer_main

        sys.exit(writer_main())
    from desktop.__main__ import main

    sys.exit(main())
