"""Errors the workbench raises; each message names what was expected and what was found."""


class InterestlabError(Exception):
    """Base class: a problem a user can act on (exit code 2 on the CLI)."""


class ContractError(InterestlabError):
    """An input table breaks the data contract (missing table/column, wrong type)."""


class PolicyError(InterestlabError):
    """The policy file is missing, malformed or holds a value the notice does not allow."""


class GateError(InterestlabError):
    """A Great Expectations checkpoint failed: nothing downstream may be produced."""


class RunLockedError(InterestlabError):
    """Another run holds the workspace lock."""
