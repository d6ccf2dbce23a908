"""Errors that reach the user as one line and exit code 2."""


class UserError(Exception):
    """Bad input from the user: a config, a model string, a file. Printed as one line."""


class BudgetExceeded(Exception):
    """A model call past the improver's call budget (the paper's behaviour: it raises)."""
