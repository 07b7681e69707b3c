"""`python -m yuqing` is the `yuqing` command (the runner starts its children this way)."""

from .cli import main

main()
