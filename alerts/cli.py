"""Command-line commands of yuqing.alerts. Keep heavy imports inside the command functions."""

import typer


def register(app: typer.Typer) -> None:
    """Add this subsystem's commands and command groups to the root `yuqing` app."""
