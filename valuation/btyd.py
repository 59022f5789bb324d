"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee 2005b), vectorised numpy/scipy.

Both are fitted by maximum likelihood on the unique rows of their inputs (weighted by how often each occurs), so a
fit over a million customers costs about as much as one over the few thousand distinct (x, t_x, T) triples.
Inputs come straight from ``valuation.features.transaction_features`` (``frequency``, ``recency``, ``T``,
``monetary``); time is in whatever unit those were computed in (days or weeks), and horizons use the same unit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

ArrayLike = np.ndarray | pd.Series | float


def _arr(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _unique_weighted(*cols: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    stacked = np.column_stack(cols)
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype(float)


def _fit_log_params(nll: Any, n_params: int, starts: list[np.ndarray]) -> np.ndarray:
    """Minimise a negative log-likelihood over log-parameters from several starts; keep the best.

    L-BFGS-B first (bounded log-parameters: a flat likelihood, e.g. customers with almost no repeat purchases,
    cannot send a parameter to infinity); Nelder-Mead only to rescue a start where it fails. An unbounded,
    tight-tolerance Nelder-Mead from every start made a 20k-user fit take 30 s where this takes under one."""
    bounds = [(-18.0, 18.0)] * len(starts[0])
    best: Any = None
    for x0 in starts:
        res = minimize(nll, x0, method="L-BFGS-B", bounds=bounds, options={"maxiter": 1_000})
        if not (res.success and np.isfinite(res.fun)):
            rescue = minimize(nll, x0, method="Nelder-Mead", options={"maxiter": 2_000 * len(x0)})
            res = minimize(nll, np.clip(rescue.x, -18.0, 18.0), method="L-BFGS-B", bounds=bounds)
        if best is None or res.fun < best.fun:
            best = res
    if best is None or not np.isfinite(best.fun) or best.fun >= 1e300:
        raise RuntimeError("BTYD fit did not converge")
    return np.exp(best.x[:n_params])


class BetaGeoModel(BaseModel):
    """BG/NBD: purchases while alive ~ Poisson(lambda), lambda ~ Gamma(r, alpha); dropout after each purchase
    with probability p ~ Beta(a, b)."""

    model_config = ConfigDict(frozen=True)
    r: float
    alpha: float
    a: float
    b: float
    n_customers: int = 0
    log_likelihood: float = float("nan")

    @staticmethod
    def log_likelihood_terms(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
    ) -> np.ndarray:
        r, alpha, a, b = params
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return BetaGeoModel._terms(r, alpha, a, b, x, t_x, big_t)

    @staticmethod
    def _terms(
        r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
    ) -> np.ndarray:
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + x) - betaln(a, b)
        a3 = -(r + x) * np.log(alpha + big_t)
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
        return a1 + a2 + np.logaddexp(a3, a4)

    @classmethod
    def fit(cls, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BetaGeoModel:
        x, t_x, big_t = _arr(frequency), _arr(recency), _arr(T)
        if len(x) == 0:
            raise ValueError("BG/NBD fit needs at least one customer")
        if np.any(x < 0) or np.any(t_x < 0) or np.any(big_t < t_x):
            raise ValueError("BG/NBD inputs need frequency >= 0 and 0 <= recency <= T")
        (ux, utx, ut), w = _unique_weighted(x, t_x, big_t)
        scale = (
            float(np.mean(big_t)) or 1.0
        )  # start alpha near the time scale so days and weeks both converge

        def nll(log_p: np.ndarray) -> float:
            val = -np.sum(w * cls.log_likelihood_terms(np.exp(log_p), ux, utx, ut))
            return float(val) if np.isfinite(val) else 1e300

        starts = [np.log([0.5, scale / 10, 1.0, 2.0]), np.log([1.0, scale, 0.5, 1.0])]
        r, alpha, a, b = _fit_log_params(nll, 4, starts)
        ll = float(np.sum(w * cls.log_likelihood_terms(np.array([r, alpha, a, b]), ux, utx, ut)))
        return cls(r=r, alpha=alpha, a=a, b=b, n_customers=len(x), log_likelihood=ll)

    def _odds_dead(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        """a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) for x > 0, else 0: odds of having dropped out."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_odds = (
                np.log(a)
                - np.log(np.maximum(b + x - 1, 1e-300))
                + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
            )
            return np.where(x > 0, np.exp(np.minimum(log_odds, 700.0)), 0.0)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        x, t_x, big_t = _arr(frequency), _arr(recency), _arr(T)
        return 1.0 / (1.0 + self._odds_dead(x, t_x, big_t))

    def expected_purchases(
        self, t: float | ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """E[X(T, T+t) | x, t_x, T]: expected repeat purchases in the next ``t`` time units."""
        x, t_x, big_t, tt = _arr(frequency), _arr(recency), _arr(T), _arr(t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = tt / (alpha + big_t + tt)
        with np.errstate(over="ignore", invalid="ignore"):
            f21 = hyp2f1(r + x, b + x, a + b + x - 1, z)
            ratio = np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + tt)))
            numer = (a + b + x - 1) / (a - 1) * (1.0 - ratio * f21)
        # hyp2f1 can overflow for very frequent buyers over long horizons: fall back to the alive rate bound.
        rate_bound = (r + x) / (alpha + big_t) * tt
        numer = np.where(np.isfinite(numer) & (numer >= 0), numer, rate_bound)
        return numer / (1.0 + self._odds_dead(x, t_x, big_t))

    def prob_purchase_within(
        self, t: float | ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """P(at least one purchase in the next ``t``) = P(alive) * (1 - ((alpha+T)/(alpha+T+t))^(r+x)).

        A BG/NBD customer alive at T who makes no purchase cannot drop out (dropout follows purchases), and the
        posterior of lambda given alive is Gamma(r+x, alpha+T)."""
        x, t_x, big_t, tt = _arr(frequency), _arr(recency), _arr(T), _arr(t)
        no_buy = np.exp((self.r + x) * (np.log(self.alpha + big_t) - np.log(self.alpha + big_t + tt)))
        return self.p_alive(x, t_x, big_t) * (1.0 - no_buy)

    def unconditional_expected_purchases(self, t: float | ArrayLike) -> np.ndarray:
        """E[X(t)] for a new customer over ``t`` time units from their first purchase."""
        tt = _arr(t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = tt / (alpha + tt)
        return (a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + tt)) ** r * hyp2f1(r, b, a + b - 1, z))


class GammaGammaModel(BaseModel):
    """Gamma-Gamma: a customer's transaction values ~ Gamma(p, nu), nu ~ Gamma(q, v); independent of frequency."""

    model_config = ConfigDict(frozen=True)
    p: float
    q: float
    v: float
    n_customers: int = 0
    log_likelihood: float = float("nan")

    @staticmethod
    def log_likelihood_terms(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        p, q, v = params
        return (
            gammaln(p * x + q)
            - gammaln(p * x)
            - gammaln(q)
            + q * np.log(v)
            + (p * x - 1) * np.log(m)
            + (p * x) * np.log(x)
            - (p * x + q) * np.log(x * m + v)
        )

    @classmethod
    def fit(cls, frequency: ArrayLike, monetary: ArrayLike) -> GammaGammaModel:
        """Fit on repeat customers only (frequency > 0, monetary > 0), as the model requires."""
        x, m = _arr(frequency), _arr(monetary)
        keep = (x > 0) & (m > 0)
        if keep.sum() < 3:
            raise ValueError("Gamma-Gamma fit needs at least 3 repeat customers with positive spend")
        (ux, um), w = _unique_weighted(x[keep], m[keep])
        scale = float(np.mean(m[keep]))

        def nll(log_p: np.ndarray) -> float:
            val = -np.sum(w * cls.log_likelihood_terms(np.exp(log_p), ux, um))
            return float(val) if np.isfinite(val) else 1e300

        starts = [np.log([2.0, 3.0, scale]), np.log([6.0, 4.0, scale / 2])]
        p, q, v = _fit_log_params(nll, 3, starts)
        ll = float(np.sum(w * cls.log_likelihood_terms(np.array([p, q, v]), ux, um)))
        return cls(p=p, q=q, v=v, n_customers=int(keep.sum()), log_likelihood=ll)

    @property
    def population_mean(self) -> float:
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("nan")

    def expected_average_spend(self, frequency: ArrayLike, monetary: ArrayLike) -> np.ndarray:
        """E[M | x, m_x]: shrinks each customer's mean repeat value towards the population mean."""
        x, m = _arr(frequency), _arr(monetary)
        m = np.where(x > 0, m, 0.0)
        return self.p * (self.v + x * m) / (self.p * x + self.q - 1)


class BtydModels(BaseModel):
    """The pair fitted together, as stored with a trained engine."""

    bgnbd: BetaGeoModel
    gamma_gamma: GammaGammaModel

    @classmethod
    def fit(cls, features: pd.DataFrame) -> BtydModels:
        return cls(
            bgnbd=BetaGeoModel.fit(features["frequency"], features["recency"], features["T"]),
            gamma_gamma=GammaGammaModel.fit(features["frequency"], features["monetary"]),
        )


def btyd_features(
    features: pd.DataFrame,
    models: BtydModels,
    horizons: dict[str, float],
) -> pd.DataFrame:
    """BTYD outputs as model features, per user (same index as ``features``).

    ``horizons`` maps a suffix to a horizon in the features' time unit, e.g. ``{"h": 39.0}`` (weeks) or
    ``{"30d": 30, "365d": 365}`` (days). Columns: ``p_alive``, ``gg_avg_spend``, and per horizon
    ``bg_purchases_<k>``, ``bg_p_buy_<k>``, ``btyd_spend_<k>`` (= expected purchases x expected average spend).
    """
    f, r, big_t = features["frequency"], features["recency"], features["T"]
    avg = models.gamma_gamma.expected_average_spend(f, features["monetary"])
    out: dict[str, np.ndarray] = {
        "p_alive": models.bgnbd.p_alive(f, r, big_t),
        "gg_avg_spend": avg,
    }
    for key, t in horizons.items():
        purchases = models.bgnbd.expected_purchases(t, f, r, big_t)
        out[f"bg_purchases_{key}"] = purchases
        out[f"bg_p_buy_{key}"] = models.bgnbd.prob_purchase_within(t, f, r, big_t)
        out[f"btyd_spend_{key}"] = purchases * avg
    return pd.DataFrame(out, index=features.index)
