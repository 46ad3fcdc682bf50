"""Headless faces of Dia Studio: one module per `main.py` subcommand."""
