"""interestlab: interest models and contact plans inside a bank's privacy notice (rules R1-R13)."""

__version__ = "0.1.0"
