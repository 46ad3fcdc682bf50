"""The document a creator edits (script, speakers, takes, timeline) and everything that turns it into an episode.

No Qt and no torch here: generation goes through `dia_engine`'s public API. Start from `Project`
(projects.project) and `GenerationService` (projects.generation).
"""
