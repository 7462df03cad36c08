"""The synthetic bank: a complete, realistic bank in the data contract (issue 2).

`generate_bank(out_dir, n_customers=..., seed=...)` writes every contract table, the truth
(latent interests, for evaluation only) and a non-personal `_summary.json`.
"""

from interestlab.synth.writer import generate_bank

__all__ = ["generate_bank"]
