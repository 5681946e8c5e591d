"""``python -m mpeil …``: the same command line as the ``mpeil`` script."""

from mpeil.cli import main

if __name__ == "__main__":
    main()
