"""Queueing formulas for contact-centre staffing: Erlang B, Erlang C and Erlang A.

Pure: standard library only, no I/O. Used by the routing simulator's validation and, later, by
staffing and forecasting.

Conventions
-----------
* Times are in seconds; rates are per second; agent and server counts are ``int``.
* **Offered traffic** ``A`` in Erlangs is arrival rate * mean handle time (AHT): 100 calls in a
  30-minute interval at 180 s AHT is ``100 * 180 / 1800 = 10`` Erlangs (:func:`traffic_erlangs`).
* AHT is the whole time an agent is tied up by one contact (talk + hold + wrap-up).

What every model here assumes
-----------------------------
* Arrivals are Poisson with a constant rate over the interval (no peaks inside it).
* Handle times are exponentially distributed and independent of everything else.
* Agents are identical, each works one contact at a time (no concurrency, as in voice), and they
  are all present for the whole interval (no shrinkage: add breaks and absences on top).
* Steady state: the interval is long compared with AHT, and nothing carries over between
  intervals.
* First come, first served; no retrials (a blocked or abandoning customer does not come back).

The models differ only in what happens to a contact that finds every agent busy:

* **Erlang B** (M/M/c/c): it is lost (blocked). Use for trunk/port sizing.
* **Erlang C** (M/M/c): it waits in an unbounded queue and never gives up. Simple and
  standard, but pessimistic under load and meaningless when ``agents <= traffic``.
* **Erlang A** (M/M/c+M): it waits, but abandons after an exponentially distributed patience.
  Always has a steady state, so it also answers "what happens if we are understaffed".
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

__all__ = [
    "MAX_QUEUE_STATES",
    "ErlangAResult",
    "agents_for_service_level",
    "average_speed_of_answer",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "occupancy",
    "service_level",
    "traffic_erlangs",
]

#: Upper bound on the queue states :func:`erlang_a` walks before giving up. Reaching it needs a
#: mean queue of millions of contacts, i.e. (arrival rate - service capacity) x patience in the
#: millions; far outside any real contact centre.
MAX_QUEUE_STATES = 5_000_000

# Relative size below which the rest of the Erlang A queue distribution is dropped.
_TAIL_TOLERANCE = 1e-17


# --- input validation ---------------------------------------------------------------------------


def _finite(name: str, value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def _non_negative(name: str, value: float) -> float:
    number = _finite(name, value)
    if number < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return number


def _positive(name: str, value: float) -> float:
    number = _finite(name, value)
    if number <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return number


def _count(name: str, value: int, *, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return number


# --- helpers ------------------------------------------------------------------------------------


def traffic_erlangs(arrivals_per_interval: float, aht_seconds: float, interval_seconds: float) -> float:
    """Offered traffic in Erlangs: ``arrivals * AHT / interval length``.

    The average number of agents that would be busy if every contact were answered at once. For
    example 100 calls per 30 minutes (1800 s) at 180 s AHT is 10 Erlangs.

    Raises:
        ValueError: ``arrivals_per_interval`` < 0, or ``aht_seconds`` / ``interval_seconds`` <= 0.
    """
    arrivals = _non_negative("arrivals_per_interval", arrivals_per_interval)
    aht = _positive("aht_seconds", aht_seconds)
    interval = _positive("interval_seconds", interval_seconds)
    return arrivals * aht / interval


def occupancy(traffic_erlangs: float, agents: int) -> float:
    """Fraction of agents' time spent handling contacts: ``A / c``, capped at 1.

    Assumes every offered contact is eventually handled (Erlang C: nobody abandons), so the
    handled workload equals the offered ``A``. When ``agents <= traffic`` the queue grows without
    bound and the agents are busy all the time: the result is 1.0. (For occupancy with
    abandonment use :attr:`ErlangAResult.occupancy`.)

    Raises:
        ValueError: ``traffic_erlangs`` < 0 or ``agents`` < 1.
    """
    a = _non_negative("traffic_erlangs", traffic_erlangs)
    c = _count("agents", agents, minimum=1)
    return min(a / c, 1.0)


# --- Erlang B and C -----------------------------------------------------------------------------


def _erlang_b(a: float, servers: int) -> float:
    # B(0) = 1; B(k) = A·B(k-1) / (k + A·B(k-1)). Every step is a ratio of positive numbers in
    # [0, 1], so there is no overflow (unlike A^c/c!) and no cancellation; O(servers).
    blocking = 1.0
    for k in range(1, servers + 1):
        carried = a * blocking
        blocking = carried / (k + carried)
    return blocking


def erlang_b(traffic_erlangs: float, servers: int) -> float:
    """Erlang B: probability that an arrival finds all ``servers`` busy and is lost (M/M/c/c).

    ``B = (A^c / c!) / sum_{k=0..c} A^k / k!``, computed with the recurrence
    ``B(0) = 1, B(k) = A·B(k-1) / (k + A·B(k-1))``, which is numerically stable and takes
    O(servers) time, so tens of thousands of servers are fine. Insensitive to the handle-time
    distribution (only its mean matters). With no servers everything is blocked: 1.0.

    Raises:
        ValueError: ``traffic_erlangs`` < 0 or ``servers`` < 0.
    """
    a = _non_negative("traffic_erlangs", traffic_erlangs)
    c = _count("servers", servers)
    return _erlang_b(a, c)


def _erlang_c_from_b(a: float, agents: int, blocking: float) -> float:
    # C = c·B / (c - A·(1 - B)); valid for c > A, where the denominator is > c·B > 0.
    return blocking / (1.0 - (a / agents) * (1.0 - blocking))


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """Erlang C: probability that an arrival has to wait (M/M/c, infinite queue, no abandons).

    ``C = c·B / (c - A·(1 - B))`` with ``B`` the Erlang B blocking for the same ``A`` and ``c``;
    equal to the textbook ``(A^c/c! · c/(c-A)) / (sum_{k<c} A^k/k! + A^c/c! · c/(c-A))`` but
    stable for thousands of agents. Assumes the model of this module with customers who never
    abandon; it overstates waiting when real customers hang up.

    Returns 1.0 when ``agents <= traffic_erlangs``: the queue is unstable (it grows without
    bound), so every arrival waits.

    Raises:
        ValueError: ``traffic_erlangs`` < 0 or ``agents`` < 0.
    """
    a = _non_negative("traffic_erlangs", traffic_erlangs)
    c = _count("agents", agents)
    if c <= a:
        return 1.0
    return _erlang_c_from_b(a, c, _erlang_b(a, c))


def _service_level(a: float, agents: int, prob_wait: float, aht: float, threshold: float) -> float:
    return max(0.0, 1.0 - prob_wait * math.exp(-(agents - a) * threshold / aht))


def service_level(traffic_erlangs: float, agents: int, aht_seconds: float, threshold_seconds: float) -> float:
    """Erlang C service level: probability that an arrival waits at most ``threshold_seconds``.

    ``SL = 1 - C · exp(-(c - A) · t / AHT)``: in M/M/c, the wait of a delayed arrival is
    exponential with rate ``(c - A) / AHT``. Every offered contact counts (those answered at once
    are within any threshold); nobody abandons. ``threshold_seconds = 0`` gives ``1 - C``.
    Returns 0.0 when ``agents <= traffic_erlangs`` (unstable: waits grow without bound).

    Raises:
        ValueError: ``traffic_erlangs`` < 0, ``agents`` < 0, ``aht_seconds`` <= 0 or
            ``threshold_seconds`` < 0.
    """
    a = _non_negative("traffic_erlangs", traffic_erlangs)
    c = _count("agents", agents)
    aht = _positive("aht_seconds", aht_seconds)
    threshold = _non_negative("threshold_seconds", threshold_seconds)
    if c <= a:
        return 0.0
    return _service_level(a, c, _erlang_c_from_b(a, c, _erlang_b(a, c)), aht, threshold)


def average_speed_of_answer(traffic_erlangs: float, agents: int, aht_seconds: float) -> float:
    """Erlang C average speed of answer (mean wait over all contacts): ``ASA = C · AHT / (c - A)``.

    Averages over every contact, including those answered at once with zero wait (the mean wait
    of only the delayed ones is ``AHT / (c - A)``). Nobody abandons. ``math.inf`` when
    ``agents <= traffic_erlangs`` (unstable).

    Raises:
        ValueError: ``traffic_erlangs`` < 0, ``agents`` < 0 or ``aht_seconds`` <= 0.
    """
    a = _non_negative("traffic_erlangs", traffic_erlangs)
    c = _count("agents", agents)
    aht = _positive("aht_seconds", aht_seconds)
    if c <= a:
        return math.inf
    return _erlang_c_from_b(a, c, _erlang_b(a, c)) * aht / (c - a)


def agents_for_service_level(
    traffic_erlangs: float,
    aht_seconds: float,
    target_sl: float,
    threshold_seconds: float,
    max_occupancy: float | None = None,
) -> int:
    """Smallest number of agents whose Erlang C :func:`service_level` is at least ``target_sl``.

    ``target_sl`` is a fraction (0.8 for "80 % answered within 20 s" with
    ``threshold_seconds=20``). With ``max_occupancy`` (e.g. 0.85) the answer is also large
    enough that :func:`occupancy` stays at or below the cap. The search starts at the smallest
    stable staffing and walks up, updating Erlang B by one recurrence step per agent, so it costs
    O(answer) arithmetic however large the traffic. Zero traffic needs zero agents.

    This is raw staffing: divide by ``1 - shrinkage`` to get people to schedule. The result holds
    under this module's Erlang C assumptions (notably: nobody abandons, which overstates the
    staff needed when customers do hang up).

    Raises:
        ValueError: ``traffic_erlangs`` < 0, ``aht_seconds`` <= 0, ``threshold_seconds`` < 0,
            ``target_sl`` not strictly between 0 and 1 (1 is never reached: some contact
            always waits), or ``max_occupancy`` not in (0, 1].
    """
    a = _non_negative("traffic_erlangs", traffic_erlangs)
    aht = _positive("aht_seconds", aht_seconds)
    target = _finite("target_sl", target_sl)
    if not 0.0 < target < 1.0:
        raise ValueError(f"target_sl must be strictly between 0 and 1, got {target_sl!r}")
    threshold = _non_negative("threshold_seconds", threshold_seconds)
    cap = None
    if max_occupancy is not None:
        cap = _finite("max_occupancy", max_occupancy)
        if not 0.0 < cap <= 1.0:
            raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy!r}")
    if a == 0.0:
        return 0

    agents = math.floor(a) + 1  # smallest stable staffing
    if cap is not None:
        # Start one below the estimate so that rounding in a / cap cannot skip the answer.
        agents = max(agents, math.ceil(a / cap) - 1)
        while a / agents > cap:
            agents += 1
    blocking = _erlang_b(a, agents)
    while True:
        prob_wait = _erlang_c_from_b(a, agents, blocking)
        if _service_level(a, agents, prob_wait, aht, threshold) >= target:
            return agents
        agents += 1
        carried = a * blocking
        blocking = carried / (agents + carried)


# --- Erlang A -----------------------------------------------------------------------------------


def _log_add(x: float, y: float) -> float:
    """``log(exp(x) + exp(y))`` without overflow."""
    if x == -math.inf:
        return y
    if y == -math.inf:
        return x
    high, low = (x, y) if x >= y else (y, x)
    return high + math.log1p(math.exp(low - high))


@dataclass(frozen=True)
class _QueueSums:
    """Sums over ``k`` (contacts already queued ahead of an arrival that has to wait) of
    ``t_k = pi_{c+k} / pi_c``, each multiplied by ``exp(log_scale)`` being the true value."""

    log_scale: float
    mass: float  # sum t_k
    queue: float  # sum k·t_k
    answered: float  # sum t_k·P(answered | k ahead)
    abandoned: float  # sum t_k·P(abandons | k ahead)
    answered_wait: float  # sum t_k·E[wait; answered | k ahead]
    answered_within: float  # sum t_k·P(answered within the threshold | k ahead)


def _queue_sums(
    arrival_rate: float, aht: float, patience: float, agents: int, threshold: float
) -> _QueueSums:
    # States n >= c of the birth-death chain: n = c + k with k queued. Births at rate lam, deaths
    # at d_k = c·mu + k·theta (services plus abandons), so t_k = prod_{j=1..k} lam / d_j.
    # Walk k upwards in log space, renormalising the running sums to the largest term so far
    # (t_k rises while d_k < lam and then falls), and stop once the rest is provably negligible.
    service = agents / aht  # c·mu: completion rate when all agents are busy
    theta = 1.0 / patience
    beta = service / theta  # c·mu / theta
    log_rate = math.log(arrival_rate) if arrival_rate > 0 else -math.inf

    # For "answered within t": the wait V of an arrival with k ahead, had it infinite patience,
    # is a sum of exponentials with rates c·mu + j·theta (j = k..0), and its own patience is
    # Exp(theta); P(answered, V <= t | k) = beta/(beta+k+1) · (1 - I_u(beta+1, k+1)), u =
    # exp(-theta·t), where the regularised incomplete beta with integer second argument is the
    # finite sum I_u(alpha, k+1) = u^alpha · sum_{j=0..k} (alpha)_j / j! · (1-u)^j. Kept in logs.
    track_threshold = threshold > 0
    log_u_alpha = -(service + theta) * threshold  # log u^(beta+1)
    log_one_minus_u = math.log(-math.expm1(-theta * threshold)) if track_threshold else -math.inf
    log_beta_term = 0.0  # log of (alpha)_j / j! · (1-u)^j
    log_beta_sum = -math.inf

    log_scale = 0.0
    log_t = 0.0  # log t_0
    mass = queue = answered = abandoned = answered_wait = answered_within = 0.0
    harmonic = 0.0  # sum_{j=1..k+1} 1/d_j: mean wait of an answered arrival with k ahead
    for k in range(MAX_QUEUE_STATES):
        if log_t > log_scale:
            shrink = math.exp(log_scale - log_t)
            mass *= shrink
            queue *= shrink
            answered *= shrink
            abandoned *= shrink
            answered_wait *= shrink
            answered_within *= shrink
            log_scale = log_t
        weight = math.exp(log_t - log_scale)
        death = service + (k + 1) * theta  # d_{k+1}: the tagged arrival's own exit rate
        p_answer = service / death
        harmonic += 1.0 / death
        mass += weight
        queue += k * weight
        answered += weight * p_answer
        abandoned += weight * ((k + 1) * theta / death)
        answered_wait += weight * p_answer * harmonic
        if track_threshold:
            if k > 0:
                log_beta_term += math.log((beta + k) / k) + log_one_minus_u
            log_beta_sum = _log_add(log_beta_sum, log_beta_term)
            log_incomplete_beta = log_u_alpha + log_beta_sum
            if log_incomplete_beta < 0.0:
                answered_within += weight * p_answer * -math.expm1(log_incomplete_beta)

        ratio = arrival_rate / death  # t_{k+1} / t_k, decreasing in k
        # Past the peak, sum_{j>k} (j+1)·t_j <= t_k·(k+2)/(1-ratio)^2 bounds what is left of
        # every sum above (each weighs t_j by at most (j+1), in units of the sums' own scale).
        if ratio < 1.0 and weight * (k + 2) <= _TAIL_TOLERANCE * mass * (1.0 - ratio) ** 2:
            break
        log_t += log_rate - math.log(death)
    else:
        raise ValueError(
            f"Erlang A queue longer than {MAX_QUEUE_STATES} states: arrivals far exceed what "
            f"{agents} agents serve with a patience of {patience} s"
        )
    return _QueueSums(log_scale, mass, queue, answered, abandoned, answered_wait, answered_within)


def _waiting_scale(erlang_b_blocking: float, sums: _QueueSums) -> float:
    # pi_c / Z with Z / pi_c = sum_{n<c} pi_n/pi_c + sum_k t_k = (1/B - 1) + T, so
    # pi_c / Z = B / (1 - B + B·T), returned times exp(log_scale) to apply to the scaled sums.
    if erlang_b_blocking == 0.0 or sums.mass == 0.0:
        return 0.0
    log_b = math.log(erlang_b_blocking)
    log_rest = math.log1p(-erlang_b_blocking) if erlang_b_blocking < 1.0 else -math.inf
    log_denominator = _log_add(log_rest, log_b + sums.log_scale + math.log(sums.mass))
    return math.exp(log_b + sums.log_scale - log_denominator)


@dataclass(frozen=True)
class ErlangAResult:
    """Steady-state performance of an M/M/c+M (Erlang A) queue; see :func:`erlang_a`.

    Probabilities are per offered contact (time averages and arrival averages coincide for
    Poisson arrivals).
    """

    arrival_rate_per_s: float
    aht_seconds: float
    patience_seconds: float
    agents: int
    #: P(an arrival finds every agent busy and has to queue).
    prob_wait: float
    #: P(an arrival hangs up before being answered).
    prob_abandon: float
    #: Mean time in queue over all arrivals, until answered or until abandoning (Little's law).
    mean_wait_seconds: float
    #: Average speed of answer: mean wait of answered contacts, counting the zero waits of those
    #: answered at once. ``math.inf`` if nobody is ever answered.
    asa_seconds: float
    #: Mean number of contacts waiting.
    mean_queue_length: float
    #: Fraction of agent time spent handling contacts (only answered contacts load agents).
    occupancy: float

    @property
    def offered_erlangs(self) -> float:
        """Offered traffic ``arrival rate * AHT`` (may exceed ``agents``: abandons balance it)."""
        return self.arrival_rate_per_s * self.aht_seconds

    @property
    def prob_answered(self) -> float:
        """P(an arrival is eventually answered) = 1 - P(abandon)."""
        return 1.0 - self.prob_abandon

    def service_level(self, threshold_seconds: float) -> float:
        """Fraction of all offered contacts answered within ``threshold_seconds``.

        Abandoned contacts count as misses, whenever they hung up (the strict definition; to
        exclude short abandons, compute them separately). ``threshold_seconds = 0`` gives
        ``1 - prob_wait``; a very long threshold tends to :attr:`prob_answered`.

        Raises:
            ValueError: ``threshold_seconds`` < 0 or not finite.
        """
        threshold = _non_negative("threshold_seconds", threshold_seconds)
        if threshold == 0.0:
            return 1.0 - self.prob_wait
        sums = _queue_sums(
            self.arrival_rate_per_s, self.aht_seconds, self.patience_seconds, self.agents, threshold
        )
        blocking = _erlang_b(self.offered_erlangs, self.agents)
        scale = _waiting_scale(blocking, sums)
        return min(1.0, 1.0 - self.prob_wait + scale * sums.answered_within)


def erlang_a(
    arrival_rate_per_s: float, aht_seconds: float, patience_seconds: float, agents: int
) -> ErlangAResult:
    """Erlang A (Palm's M/M/c+M): Erlang C with customers who abandon while waiting.

    Assumes, on top of this module's common assumptions, that each waiting customer hangs up
    after an exponentially distributed patience with mean ``patience_seconds``, independent of
    everything else, and only while waiting (never once answered); abandoners do not retry. A
    practical estimate of mean patience from interval data is (total time abandoners and
    answered contacts spent waiting) / (number abandoned), the maximum-likelihood estimate for
    exponential patience. Because abandons drain the queue, the model has a steady state for
    any load, including ``agents <= arrival_rate * AHT``; as patience grows it tends to Erlang C.

    Method: the number of contacts in the system is a birth-death chain (births at the arrival
    rate; deaths ``n·mu`` below ``c``, ``c·mu + (n - c)·theta`` above, ``mu = 1/AHT``,
    ``theta = 1/patience``) whose stationary distribution is solved directly in product form.
    The states up to ``c`` are summed through the stable Erlang B recurrence; the queue states
    are walked in log space with running renormalisation until a geometric bound shows that the
    remainder is below 1e-17 of the total, so the truncation is adaptive rather than a fixed
    cap. Per-state results (answer probability, wait, answered-within-threshold via a finite
    incomplete-beta sum) are exact for exponential patience. This uses only the standard library
    instead of the equivalent closed form of Palm/Garnett et al. in incomplete gamma functions
    (which would need SciPy and, for the service level, differences of nearly equal incomplete
    gammas). Cost: O(c + queue states that matter), i.e. about
    ``c + max(0, arrival rate - c/AHT)·patience + 40/(1 - load)`` steps.

    Raises:
        ValueError: ``arrival_rate_per_s`` < 0, ``aht_seconds`` or ``patience_seconds`` <= 0 or
            not finite (for infinite patience use Erlang C), ``agents`` < 1, or the queue would
            need more than :data:`MAX_QUEUE_STATES` states.
    """
    rate = _non_negative("arrival_rate_per_s", arrival_rate_per_s)
    aht = _positive("aht_seconds", aht_seconds)
    patience = _positive("patience_seconds", patience_seconds)
    c = _count("agents", agents, minimum=1)

    sums = _queue_sums(rate, aht, patience, c, 0.0)
    blocking = _erlang_b(rate * aht, c)
    scale = _waiting_scale(blocking, sums)
    prob_wait = min(1.0, scale * sums.mass)
    prob_abandon = min(1.0, scale * sums.abandoned)
    mean_queue = scale * sums.queue
    mean_wait = mean_queue / rate if rate > 0 else 0.0
    prob_answered = 1.0 - prob_abandon
    asa = scale * sums.answered_wait / prob_answered if prob_answered > 0 else math.inf
    return ErlangAResult(
        arrival_rate_per_s=rate,
        aht_seconds=aht,
        patience_seconds=patience,
        agents=c,
        prob_wait=prob_wait,
        prob_abandon=prob_abandon,
        mean_wait_seconds=mean_wait,
        asa_seconds=asa,
        mean_queue_length=mean_queue,
        occupancy=min(1.0, rate * prob_answered * aht / c),
    )
