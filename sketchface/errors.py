"""The package's errors: one hierarchy, each message one sentence that says what is wrong and what to do.

    UserError          something the person at the keyboard can fix (the CLI prints it without a traceback)
    ├── InputError     the input (an image, an argument) cannot be used: the app says "Cannot use this input"
    ├── CheckpointError  checkpoints are missing, broken or do not fit together: the app says the model is missing
    ├── ConfigError    a configuration cannot build what it describes (unknown key, bad value, wrong kind)
    └── DataError      a data file or folder is missing, unreadable or of the wrong size

The modules that raise them re-export their names (``sketchface.framing.InputError``,
``sketchface.nets.CheckpointError``, ...), so either import works. Plain-Python only: importing this module loads
nothing else.
"""
from __future__ import annotations


class UserError(Exception):
    """An error whose message is meant for the user: printed as one sentence, no traceback."""


class InputError(UserError, ValueError):
    """The input image or an argument cannot be used; the message says why in one sentence."""


class CheckpointError(UserError, ValueError):
    """A checkpoint (or bundle of them) that cannot be found or loaded; the message says what to do."""


class ConfigError(UserError, ValueError):
    """A config that cannot build a network or run a stage: unknown key, bad value, wrong kind."""


class DataError(UserError, ValueError):
    """A data file is missing, unreadable or has the wrong size; the message names the path."""
