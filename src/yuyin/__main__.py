"""`python -m yuyin` runs the command line."""

from yuyin.cli import main

main()
