import numpy as np
from threadpoolctl import threadpool_limits

from interestlab.modeling.challenger import LogisticChallenger


def test_coefficients_do_not_depend_on_the_blas_threads() -> None:
    # A threaded BLAS sums the solver's products in another order: the fit runs on one
    # BLAS thread whatever the caller's setting, so retraining is bit-identical on any
    # machine (at this size two threads gave other coefficients before).
    rng = np.random.default_rng(7)
    x = rng.normal(size=(20_000, 60)).astype(np.float32)
    # Mostly zeros and heavy tails, like the click counts.
    x[:, 5:] = np.where(rng.random((20_000, 55)) < 0.8, 0, np.abs(x[:, 5:]) * 10)
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=x.shape[0]) > 1.0).astype(float)
    fits = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            fits.append(LogisticChallenger().fit(x, y).model_.coef_)
    np.testing.assert_array_equal(fits[0], fits[1])
