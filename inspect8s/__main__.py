"""`python -m inspect8s`."""

from inspect8s.cli import main

if __name__ == "__main__":
    main()
