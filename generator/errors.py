"""The one error the command line reports as a single line, exit status 2."""


class InputError(Exception):
    """Bad input to a command (a file, a folder, a project's state)."""
