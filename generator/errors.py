"""The one exception type a user sees: a clear line naming the file or option at fault."""


class BuildError(Exception):
    """Bad input (data file, config, weights). `python -m generator.build` prints it as one line."""
