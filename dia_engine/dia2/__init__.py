"""Dia2 (nari-labs/Dia2-1B, -2B): our own inference of the streaming dialogue model, behind `DiaEngine`."""
