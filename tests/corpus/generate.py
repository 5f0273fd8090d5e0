#!/usr/bin/env python3
"""Writes the bad-input corpus: tests/corpus/files/*.ron (a shipped
experiment with one thing broken, or a file broken on its own) and
tests/corpus/flags.txt (command lines). Each case says the exit code the
`sim` binary must give and a text its one-line error must contain (the
field, the line:column, or the flag). sim-cli/tests/corpus.rs runs them.

    python3 tests/corpus/generate.py      # rewrites the corpus

The corpus is checked in; this script is how it was made (rerun it after
changing a shipped experiment the cases are cut from)."""
import pathlib, re, shutil

root = pathlib.Path(__file__).resolve().parents[2]
out = root / "tests" / "corpus" / "files"
if out.exists():
    shutil.rmtree(out)
out.mkdir(parents=True)

def exp(name):
    return (root / "experiments" / f"{name}.ron").read_text()

cases = []  # (name, text, exit, needle, args)

def mutate(name, base, find, repl, needle, args="run {file}", exit_code=2):
    text = exp(base)
    assert find in text, (name, base, find)
    cases.append((name, text.replace(find, repl, 1), exit_code, needle, args))

def raw(name, text, needle, args="run {file}", exit_code=2):
    cases.append((name, text, exit_code, needle, args))

# --- top level -----------------------------------------------------------
mutate("top-seed-negative", "s3-breaker", "seed: 3,", "seed: -3,", "top-seed-negative.ron:20:12: Integer is out of bounds")
mutate("top-seed-float", "s3-breaker", "seed: 3,", "seed: 3.5,", "seed")
mutate("top-duration-zero", "s3-breaker", 'duration: "180s"', 'duration: "0s"', "duration")
mutate("top-duration-negative", "s3-breaker", 'duration: "180s"', 'duration: "-5s"', "duration")
mutate("top-duration-no-unit", "s3-breaker", 'duration: "180s"', 'duration: "180"', "duration")
mutate("top-duration-bad-unit", "s3-breaker", 'duration: "180s"', 'duration: "180 parsecs"', "duration")
mutate("top-duration-overflow", "s3-breaker", 'duration: "180s"', 'duration: "18446744073709551615000ns"', "duration")
mutate("top-duration-huge-hours", "s3-breaker", 'duration: "180s"', 'duration: "99999999999999h"', "duration")
mutate("top-duration-number", "s3-breaker", 'duration: "180s"', 'duration: 180', "duration")
mutate("top-replications-zero", "s3-breaker", 'seed: 3,', 'seed: 3, replications: 0,', "replications")
mutate("top-replications-huge", "s3-breaker", 'seed: 3,', 'seed: 3, replications: 1000000000,', "replications")
mutate("top-replications-negative", "s3-breaker", 'seed: 3,', 'seed: 3, replications: -1,', "top-replications-negative.ron:20:29")
mutate("top-unknown-field", "s3-breaker", 'seed: 3,', 'seed: 3, speed: 9,', "speed")
mutate("top-duplicate-field", "s3-breaker", 'seed: 3,', 'seed: 3, seed: 4,', "seed")
mutate("top-name-empty", "s3-breaker", 'name: "s3-breaker"', 'name: ""', "name")
mutate("top-name-nul", "s3-breaker", 'name: "s3-breaker"', 'name: "s3\\u{0}breaker"', "name")
mutate("top-description-escape", "s3-breaker", 'description: "S3:', 'description: "\\u{1b}[2J S3:', "description")
mutate("metrics-bucket-zero", "s3-breaker", 'bucket: "1s"', 'bucket: "0s"', "metrics.bucket")
mutate("metrics-window-zero", "s3-breaker", 'recovery_window: "5s"', 'recovery_window: "0s"', "metrics.recovery_window")
mutate("metrics-tolerance-negative", "s3-breaker", 'recovery_window: "5s"', 'recovery_window: "5s", recovery_tolerance: -0.1', "metrics.recovery_tolerance")
mutate("metrics-tolerance-above-one", "s3-breaker", 'recovery_window: "5s"', 'recovery_window: "5s", recovery_tolerance: 1.5', "metrics.recovery_tolerance")
mutate("metrics-tolerance-nan", "s3-breaker", 'recovery_window: "5s"', 'recovery_window: "5s", recovery_tolerance: NaN', "metrics.recovery_tolerance")
mutate("metrics-unknown", "s3-breaker", 'recovery_window: "5s"', 'recovery_window: "5s", colour: 1', "colour")
mutate("metrics-disturbance-reversed", "s3-breaker", 'recovery_window: "5s"', 'recovery_window: "5s", disturbance: ("100s", "60s")', "metrics.disturbance")

# --- services ------------------------------------------------------------
mutate("service-workers-zero", "s3-breaker", '(name: "api-a", workers: 8', '(name: "api-a", workers: 0', "services[0].workers")
mutate("service-workers-huge", "s3-breaker", '(name: "api-a", workers: 8', '(name: "api-a", workers: 4000000000', "services[0].workers")
mutate("service-workers-negative", "s3-breaker", '(name: "api-a", workers: 8', '(name: "api-a", workers: -8', "service-workers-negative.ron:24:35")
mutate("service-failure-negative", "s3-breaker", 'failure_probability: 0.01),\n        (name: "api-b"', 'failure_probability: -0.01),\n        (name: "api-b"', "services[0].failure_probability")
mutate("service-failure-above-one", "s3-breaker", 'failure_probability: 0.01),\n        (name: "api-b"', 'failure_probability: 1.01),\n        (name: "api-b"', "services[0].failure_probability")
mutate("service-failure-nan", "s3-breaker", 'failure_probability: 0.01),\n        (name: "api-b"', 'failure_probability: NaN),\n        (name: "api-b"', "services[0].failure_probability")
mutate("service-failure-inf", "s3-breaker", 'failure_probability: 0.01),\n        (name: "api-b"', 'failure_probability: inf),\n        (name: "api-b"', "services[0].failure_probability")
mutate("service-duplicate-name", "s3-breaker", '(name: "api-b", workers: 8', '(name: "api-a", workers: 8', "services[1].name")
mutate("service-name-control", "s3-breaker", '(name: "api-b", workers: 8', '(name: "api\\u{7}b", workers: 8', "services[1].name")
mutate("service-time-exponential-zero", "s3-breaker", 'service_time: Exponential(mean: "20ms")', 'service_time: Exponential(mean: "0ms")', "services[0].service_time")
mutate("service-time-uniform-reversed", "s3-breaker", 'service_time: Exponential(mean: "20ms")', 'service_time: Uniform(low: "30ms", high: "10ms")', "services[0].service_time")
mutate("service-time-normal-negative-sd", "s3-breaker", 'service_time: Exponential(mean: "20ms")', 'service_time: Normal(mean: "20ms", std_dev: "-2ms")', "service-time-normal-negative-sd.ron:24:82: negative duration")
mutate("service-time-lognormal-bad", "s3-breaker", 'service_time: Exponential(mean: "20ms")', 'service_time: LogNormal(mean: "0ms", std_dev: "2ms")', "expected either `median` or `sigma`")
mutate("service-time-empirical-empty", "s3-breaker", 'service_time: Exponential(mean: "20ms")', 'service_time: Empirical(samples: [])', "services[0].service_time")
mutate("service-time-unknown-dist", "s3-breaker", 'service_time: Exponential(mean: "20ms")', 'service_time: Cauchy(mean: "20ms")', "Cauchy")
mutate("service-time-missing", "s3-breaker", ', service_time: Exponential(mean: "20ms")', '', "service_time")
mutate("service-on-abandon-bad", "s1", 'on_abandon: Cancel,', 'on_abandon: Forget,', "Forget")
mutate("service-overload-knee-zero", "s1", 'knee_in_flight: 25,', 'knee_in_flight: 0,', "services[0].overload")
mutate("service-overload-max-failure", "s1", 'max_failure: 0.95,', 'max_failure: 1.95,', "services[0].overload")
mutate("service-overload-factor", "s1", 'min_load_factor: 0.5,', 'min_load_factor: -0.5,', "services[0].overload")
mutate("service-call-unknown-target", "study4-layered", 'target: "t2-', 'target: "nowhere-', "nowhere")

# --- clients -------------------------------------------------------------
mutate("client-unknown-target", "s3-breaker", 'target: "api-a",', 'target: "api-z",', "clients[0].target")
mutate("client-no-target", "s3-breaker", 'target: "api-a",', '', "target")
mutate("client-duplicate-name", "s3-breaker", 'name: "sliding"', 'name: "consecutive"', "clients[1].name")
mutate("client-poisson-zero", "s3-breaker", 'Poisson(rate_per_s: 20)', 'Poisson(rate_per_s: 0)', "clients[0].workload")
mutate("client-poisson-negative", "s3-breaker", 'Poisson(rate_per_s: 20)', 'Poisson(rate_per_s: -20)', "clients[0].workload")
mutate("client-poisson-nan", "s3-breaker", 'Poisson(rate_per_s: 20)', 'Poisson(rate_per_s: NaN)', "clients[0].workload")
mutate("client-poisson-inf", "s3-breaker", 'Poisson(rate_per_s: 20)', 'Poisson(rate_per_s: inf)', "clients[0].workload")
mutate("client-poisson-huge", "s3-breaker", 'Poisson(rate_per_s: 20)', 'Poisson(rate_per_s: 1e300)', "clients[0].workload")
mutate("client-constant-zero", "s3-breaker", 'Poisson(rate_per_s: 20)', 'Constant(rate_per_s: 0)', "clients[0].workload")
mutate("client-bursts-size-zero", "s1", 'Bursts(size: 350, every: "80ms")', 'Bursts(size: 0, every: "80ms")', "clients[0].workload")
mutate("client-bursts-size-huge", "s1", 'Bursts(size: 350, every: "80ms")', 'Bursts(size: 4000000000, every: "80ms")', "clients[0].workload.size")
mutate("client-bursts-every-zero", "s1", 'Bursts(size: 350, every: "80ms")', 'Bursts(size: 350, every: "0s")', "clients[0].workload")
mutate("client-closed-users-zero", "s2-backpressure", 'ClosedLoop(users: 1)', 'ClosedLoop(users: 0)', "clients[0].workload.users")
mutate("client-closed-users-huge", "s2-backpressure", 'ClosedLoop(users: 1)', 'ClosedLoop(users: 1000000000)', "clients[0].workload.users")
mutate("client-schedule-unsorted", "s5-log", '(at: "60s", rate_per_s: 1200)', '(at: "0s", rate_per_s: 1200)', "clients[0].workload")
mutate("client-schedule-empty", "s5-log", '''Schedule(steps: [
                (at: "0s", rate_per_s: 400),
                (at: "60s", rate_per_s: 1200),
                (at: "70s", rate_per_s: 400),
            ])''', 'Schedule(steps: [])', "clients[0].workload")
mutate("client-schedule-negative-rate", "s5-log", '(at: "70s", rate_per_s: 400)', '(at: "70s", rate_per_s: -400)', "clients[0].workload")
mutate("client-requests-zero", "s1", 'requests: 2000,', 'requests: 0,', "clients[0].requests")
mutate("client-requests-huge", "s1", 'requests: 2000,', 'requests: 1000000000000,', "clients[0].requests")
mutate("client-stop-before-start", "s4-dlq", 'stop: "5m", target: "plain"', 'start: "6m", stop: "5m", target: "plain"', "clients[0].stop")
mutate("client-timeout-zero", "s3-breaker", 'timeout: "1s",', 'timeout: "0s",', "clients[0].timeout")
mutate("client-timeout-text", "s3-breaker", 'timeout: "1s",', 'timeout: "soon",', "timeout")
mutate("client-deadline-zero", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", deadline: "0s",', "clients[0].deadline")
mutate("client-network-bad", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", network: Uniform(low: "5ms", high: "1ms"),', "clients[0].network")
mutate("client-unknown-field", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", retries: 3,', "retries")
mutate("client-fallback-not-bool", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", fallback: 1,', "fallback")

# retry
mutate("retry-max-attempts-zero", "s1", 'max_attempts: 4,', 'max_attempts: 0,', "clients[0].retry.max_attempts")
mutate("retry-max-attempts-huge", "s1", 'max_attempts: 4,', 'max_attempts: 4000000000,', "clients[0].retry.max_attempts")
mutate("retry-max-attempts-overflow", "s1", 'max_attempts: 4,', 'max_attempts: 40000000000,', "retry-max-attempts-overflow.ron:65:31")
mutate("retry-backoff-cap-below-base", "s1", 'FullJitter(base: "20ms", cap: "400ms"),\n            ),\n            breaker', 'FullJitter(base: "500ms", cap: "400ms"),\n            ),\n            breaker', "clients[0].retry.backoff")
mutate("retry-backoff-unknown", "s1", 'FullJitter(base: "20ms", cap: "400ms"),\n            ),\n            breaker', 'Fibonacci(base: "20ms"),\n            ),\n            breaker', "Fibonacci")
mutate("retry-backoff-multiplier", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", retry: (max_attempts: 3, backoff: Exponential(base: "10ms", multiplier: 0.5, cap: "1s")),', "clients[0].retry.backoff")
mutate("retry-on-unknown", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", retry: (retry_on: [Error, Sometimes]),', "Sometimes")
mutate("retry-budget-ratio-negative", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", retry: (budget: Ratio(ratio: -0.1)),', "clients[0].retry.budget")
mutate("retry-budget-unknown-field", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", retry: (budget: Ratio(ratio: 0.1, colour: 2)),', "colour")

# breaker
mutate("breaker-consecutive-zero", "s3-breaker", 'ConsecutiveFailures(5)', 'ConsecutiveFailures(0)', "clients[0].breaker")
mutate("breaker-open-for-zero", "s3-breaker", 'open_for: "30s"', 'open_for: "0s"', "clients[0].breaker.open_for")
mutate("breaker-probes-zero", "s3-breaker", 'HalfOpen(probes: 1)', 'HalfOpen(probes: 0)', "clients[0].breaker.after_open.probes")
mutate("breaker-window-zero", "s3-breaker", 'window: Count(50)', 'window: Count(0)', "clients[1].breaker.trip.window.Count")
mutate("breaker-window-huge", "s3-breaker", 'window: Count(50)', 'window: Count(4000000000)', "clients[1].breaker.trip.window.Count")
mutate("breaker-minimum-above-window", "s3-breaker", 'minimum_calls: 20,', 'minimum_calls: 60,', "clients[1].breaker.trip.minimum_calls")
mutate("breaker-threshold-above-one", "s3-breaker", 'threshold: 0.5,', 'threshold: 1.5,', "clients[1].breaker.trip.threshold")
mutate("breaker-threshold-zero", "s3-breaker", 'threshold: 0.5,', 'threshold: 0.0,', "clients[1].breaker.trip.threshold")
mutate("breaker-slow-rate", "s3-breaker", 'rate_threshold: 0.8', 'rate_threshold: 8', "clients[1].breaker.trip.slow_call.rate_threshold")
mutate("breaker-time-window-zero", "s8-failover", 'Time(length: "10s")', 'Time(length: "0s")', "clients[0].breaker.trip.window.length")
mutate("breaker-time-buckets-huge", "s8-failover", 'Time(length: "10s")', 'Time(length: "10s", buckets: 1000000000)', "clients[0].breaker.trip.window.buckets")
mutate("breaker-time-buckets-per-ns", "s8-failover", 'Time(length: "10s")', 'Time(length: "10ns", buckets: 100)', "clients[0].breaker.trip.window.buckets")
mutate("breaker-check-unknown", "s1", 'check: FirstAttempt,', 'check: EveryOther,', "EveryOther")

# bulkhead, rate limits, throttle, hedge, order
mutate("bulkhead-zero", "s1", 'max_concurrent: 40', 'max_concurrent: 0', "clients[0].bulkhead")
mutate("rate-limit-unknown-limiter", "s7-policies", 'rate_limit: (limiter: "limit-a")', 'rate_limit: (limiter: "limit-z")', "clients[0].rate_limit")
mutate("rate-limiter-rate-zero", "s7-policies", '(name: "limit-a", rate_per_s: 200', '(name: "limit-a", rate_per_s: 0', "rate_limiters[0]")
mutate("rate-limiter-burst-zero", "s7-policies", '(name: "limit-a", rate_per_s: 200, burst: 50)', '(name: "limit-a", rate_per_s: 200, burst: 0)', "rate_limiters[0]")
mutate("rate-limiter-duplicate", "s7-policies", '(name: "limit-b", rate_per_s: 200', '(name: "limit-a", rate_per_s: 200', "rate_limiters[1].name")
mutate("throttle-k-low", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", throttle: (k: 0.5),', "clients[0].throttle")
mutate("hedge-attempts-one", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", hedge: (max_attempts: 1, delay: "10ms"),', "clients[0].hedge.max_attempts")
mutate("hedge-attempts-six", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", hedge: (max_attempts: 6, delay: "10ms"),', "clients[0].hedge.max_attempts")
mutate("hedge-no-delay", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", hedge: (max_attempts: 3),', "delay")
mutate("hedge-not-last", "s3-breaker", 'timeout: "1s",', 'timeout: "1s", hedge: (max_attempts: 3, delay: "10ms"), order: [Hedge, Timeout, Breaker],', "clients[0].order[0]")
mutate("order-duplicate", "s7-policies", 'order: [Fallback, Retry, Breaker, RateLimit, Bulkhead, Timeout]', 'order: [Fallback, Retry, Retry, Breaker, RateLimit, Bulkhead, Timeout]', "clients[0].order[2]")
mutate("order-missing", "s7-policies", 'order: [Fallback, Retry, Breaker, RateLimit, Bulkhead, Timeout]', 'order: [Fallback, Retry, Breaker, RateLimit, Bulkhead]', "clients[0].order")
mutate("order-not-configured", "s7-policies", 'order: [Fallback, Retry, Breaker, RateLimit, Bulkhead, Timeout]', 'order: [Fallback, Retry, Breaker, RateLimit, Bulkhead, Timeout, Deadline]', "clients[0].order[6]")
mutate("order-unknown", "s7-policies", 'order: [Fallback, Retry, Breaker, RateLimit, Bulkhead, Timeout]', 'order: [Fallback, Retry, Breaker, RateLimit, Bulkhead, Timeout, Magic]', "Magic")

# --- faults --------------------------------------------------------------
mutate("fault-unknown-target", "s3-breaker", 'Outage(target: "api-a"', 'Outage(target: "api-q"', "faults[0].target")
mutate("fault-reversed", "s3-breaker", 'Outage(target: "api-a", start: "60s", end: "100s")', 'Outage(target: "api-a", start: "100s", end: "60s")', "faults[0]")
mutate("fault-unknown-kind", "s3-breaker", 'Outage(target: "api-a"', 'Meteor(target: "api-a"', "Meteor")
mutate("fault-error-spike-prob", "s8-failover", 'failure_probability: 0.3)', 'failure_probability: 3.0)', "faults[2]")
mutate("fault-capacity-zero-workers", "s8-failover", 'workers: 2)', 'workers: 0)', "faults[3]")
mutate("fault-latency-spike-multiply", "s8-failover", 'add: "150ms")', 'multiply: -2.0)', "faults[1]")

# --- buses ---------------------------------------------------------------
mutate("bus-consumers-zero", "s4-dlq", 'consumers: 4,', 'consumers: 0,', "buses[0].consumers")
mutate("bus-consumers-huge", "s4-dlq", 'consumers: 4,', 'consumers: 1000000000,', "buses[0].consumers")
mutate("bus-capacity-zero", "s2-backpressure", 'capacity: 3,', 'capacity: 0,', "buses[0].capacity")
mutate("bus-when-full-unknown", "s2-backpressure", 'when_full: Block,', 'when_full: Explode,', "Explode")
mutate("bus-work-failure", "s2-backpressure", 'failure_probability: 0.30),', 'failure_probability: 1.30),', "buses[0].handler")
mutate("bus-deliveries-zero", "s2-backpressure", 'max_deliveries: 4,', 'max_deliveries: 0,', "buses[0].redelivery.max_deliveries")
mutate("bus-jitter-bad", "s2-backpressure", 'jitter: 0.25', 'jitter: -0.5', "buses[0].redelivery.backoff.jitter")
mutate("bus-mode-unknown", "s2-backpressure", 'mode: HoldThenRetry,', 'mode: Whenever,', "Whenever")
mutate("bus-idempotency-zero", "s4-dlq", 'idempotency: (window: "10m")', 'idempotency: (window: "0s")', "buses[1].idempotency.window")
mutate("bus-crash-probability", "s4-dlq", 'crashes: (probability: 0.02,', 'crashes: (probability: 2.0,', "buses[0].crashes")
mutate("bus-handler-target", "s1", 'handler: Call(target: "backend-events"', 'handler: Call(target: "backend-nope"', "buses[0].handler")
mutate("bus-name-clash", "s4-dlq", 'name: "keyed",\n', 'name: "plain",\n', "buses[1].name")

# --- logs ----------------------------------------------------------------
mutate("log-partitions-zero", "s5-log", 'partitions: 8,', 'partitions: 0,', "logs[0].partitions")
mutate("log-partitions-huge", "s5-log", 'partitions: 8,', 'partitions: 1000000000,', "logs[0].partitions")
mutate("log-consumers-zero", "s5-log", 'consumers: 4,', 'consumers: 0,', "logs[0].consumers")
mutate("log-consumers-huge", "s5-log", 'consumers: 4,', 'consumers: 1000000000,', "logs[0].consumers")
mutate("log-keys-zero", "s5-log", 'keys: 1000,', 'keys: 0,', "logs[0].keys")
mutate("log-crash-consumer", "s5-log", '(consumer: 1, at:', '(consumer: 9, at:', "logs[0].crashes[0].consumer")
mutate("log-commit-zero", "s5-log", 'every_messages: 200', 'every_messages: 0', "logs[0].commit")
mutate("log-processing-bad", "s5-log", 'processing: Exponential(mean: "2ms")', 'processing: Exponential(mean: "-2ms")', "log-processing-bad.ron:39:44")

# --- locks ---------------------------------------------------------------
mutate("lock-contenders-zero", "s8-failover", '(name: "unfenced", contenders: 5', '(name: "unfenced", contenders: 0', "locks[0].contenders")
mutate("lock-contenders-huge", "s8-failover", '(name: "unfenced", contenders: 5', '(name: "unfenced", contenders: 1000000000', "locks[0].contenders")
mutate("lock-lease-zero", "s8-failover", 'lease: "2s", hold: Uniform(low: "100ms", high: "400ms"),\n         stall_probability: 0.05, stall: Exponential(mean: "3s"), think: Exponential(mean: "1s")),', 'lease: "0s", hold: Uniform(low: "100ms", high: "400ms"),\n         stall_probability: 0.05, stall: Exponential(mean: "3s"), think: Exponential(mean: "1s")),', "locks[0].lease")
mutate("lock-stall-probability", "s8-failover", 'stall_probability: 0.05', 'stall_probability: 5.0', "locks[0].stall_probability")
mutate("lock-stall-missing", "s8-failover", 'stall_probability: 0.05, stall: Exponential(mean: "3s"), think', 'stall_probability: 0.05, think', "locks[0].stall")
mutate("lock-no-duration", "s8-failover", 'duration: "180s",', '', "duration: a scenario with locks needs a duration")

# --- broken files ----------------------------------------------------------
s3 = exp("s3-breaker")
raw("syntax-empty", "", "syntax-empty.ron")
raw("syntax-only-comment", "// nothing here\n", "syntax-only-comment.ron")
raw("syntax-unclosed", s3[: len(s3) // 2], "syntax-unclosed.ron")
raw("syntax-trailing", s3 + ")\n", "syntax-trailing.ron")
raw("syntax-missing-comma", s3.replace('seed: 3,', 'seed: 3', 1), "syntax-missing-comma.ron:")
raw("syntax-unterminated-string", s3.replace('name: "s3-breaker"', 'name: "s3-breaker', 1), "syntax-unterminated-string.ron")
raw("syntax-unterminated-block-comment", "/* never closed\n" + s3, "syntax-unterminated-block-comment.ron")
raw("syntax-nested-block-comment", "/* a /* nested */ comment, still open\n" + s3, "syntax-nested-block-comment.ron")
raw("syntax-deep-nesting", "(" * 100000 + ")" * 100000, "syntax-deep-nesting.ron")
raw("syntax-deep-list", "(name: \"x\", services: " + "[" * 50000 + "]" * 50000 + ")", "syntax-deep-list.ron")
raw("syntax-json", '{"name": "x", "services": []}', "syntax-json.ron")
raw("syntax-yaml", "name: x\nservices:\n  - name: s\n", "syntax-yaml.ron")
raw("syntax-wrong-root", '["a", "b"]', "syntax-wrong-root.ron")
raw("syntax-bare-number", "42", "syntax-bare-number.ron")
raw("syntax-no-services", '(name: "x", duration: "1s", clients: [(name: "c", workload: Poisson(rate_per_s: 1), target: "s")])', "clients[0].target")
raw("syntax-huge-number", s3.replace('seed: 3,', 'seed: 99999999999999999999999999999999,', 1), "syntax-huge-number.ron:20:11")
raw("replay-dev-zero", '(name: "r", duration: "1s", services: [(name: "s", service_time: Constant("1ms"))], clients: [(name: "c", workload: Replay(file: "/dev/zero"), target: "s")])', "clients[0].workload.file: cannot read /dev/zero: larger than 256 MiB")
raw("replay-missing", '(name: "r", duration: "1s", services: [(name: "s", service_time: Constant("1ms"))], clients: [(name: "c", workload: Replay(file: "no-such.csv"), target: "s")])', "clients[0].workload.file")
raw("replay-binary", '(name: "r", duration: "1s", services: [(name: "s", service_time: Constant("1ms"))], clients: [(name: "c", workload: Replay(file: "syntax-binary.ron"), target: "s")])', "clients[0].workload.file")
raw("syntax-unicode-escape", s3.replace('name: "s3-breaker"', 'name: "\\u{110000}"', 1), "syntax-unicode-escape.ron")

files_manifest = []
for name, text, code, needle, args in cases:
    fname = f"{name}.ron"
    (out / fname).write_text(text)
    files_manifest.append(f"{fname}\t{code}\t{needle}\t{args}")
(root / "tests" / "corpus" / "files.tsv").write_text(
    "# file\texit\tthe error names\tcommand ({file}: the case's path)\n" + "\n".join(files_manifest) + "\n"
)

# Raw binary garbage and invalid UTF-8: written as bytes.
(out / "syntax-binary.ron").write_bytes(bytes(range(256)) * 4)
(out / "syntax-latin1.ron").write_bytes('(name: "caf\xe9")'.encode("latin-1"))
with open(root / "tests" / "corpus" / "files.tsv", "a") as f:
    f.write("syntax-binary.ron\t2\tsyntax-binary.ron\trun {file}\n")
    f.write("syntax-latin1.ron\t2\tsyntax-latin1.ron\trun {file}\n")
print(len(cases) + 2, "file cases")

# --- sweep files -----------------------------------------------------------
sweep_cases = []
base_sweep = '''(
    name: "bad-sweep",
    scenario: "../../../experiments/s3-breaker.ron",
    replications: 2,
    grid: [
        GRID
    ],
    EXTRA
)
'''
def sweep(name, grid, needle, extra="", args="sweep {file} --out o"):
    text = base_sweep.replace("GRID", grid).replace("EXTRA", extra)
    (out / f"{name}.sweep.ron").write_text(text)
    sweep_cases.append(f"{name}.sweep.ron\t2\t{needle}\t{args}")

sweep("sweep-unknown-path", '(path: "clients[0].timeoutt", values: ["1s"])', "timeoutt")
sweep("sweep-index-out-of-range", '(path: "clients[9].timeout", values: ["1s"])', "clients[9]")
sweep("sweep-empty-values", '(path: "clients[0].timeout", values: [])', "grid[0]")
sweep("sweep-bad-value", '(path: "clients[0].timeout", values: ["soon"])', "grid[0].values[0]")
sweep("sweep-invalid-cell", '(path: "clients[0].timeout", values: ["0s", "1s"])', "cell 0")
sweep("sweep-step-zero", '(path: "services[0].workers", range: (start: 1, end: 5, step: 0))', "grid[0].range")
sweep("sweep-step-negative", '(path: "services[0].workers", range: (start: 1, end: 5, step: -1))', "grid[0].range")
sweep("sweep-values-and-range", '(path: "services[0].workers", values: [1], range: (start: 1, end: 5, step: 1))', "grid[0]")
sweep("sweep-neither", '(path: "services[0].workers")', "grid[0]")
sweep("sweep-labels-count", '(path: "services[0].workers", values: [1, 2], labels: ["one"])', "grid[0].labels")
sweep("sweep-duplicate-path", '(path: "services[0].workers", values: [1]), (path: "services[0].workers", values: [2])', "grid[1]")
sweep("sweep-too-many-cells", '(path: "services[0].workers", range: (start: 1, end: 2000, step: 1)), (path: "clients[0].timeout", range: (start: "1ms", end: "1000ms", step: "1ms"))', "cells")
sweep("sweep-replications-zero", '(path: "services[0].workers", values: [1])', "replications", extra="").__class__  # placeholder, replaced below
sweep_cases.pop(); (out / "sweep-replications-zero.sweep.ron").unlink()
text = base_sweep.replace("GRID", '(path: "services[0].workers", values: [1])').replace("EXTRA", "").replace("replications: 2", "replications: 0")
(out / "sweep-replications-zero.sweep.ron").write_text(text)
sweep_cases.append("sweep-replications-zero.sweep.ron\t2\treplications\tsweep {file} --out o")
sweep("sweep-report-x-unknown", '(path: "services[0].workers", values: [1])', "report.x", extra='report: (x: "nope"),')
sweep("sweep-metric-unknown", '(path: "services[0].workers", values: [1])', "metrics[0]", extra='metrics: ["clients.nobody.ok"],')
sweep("sweep-metric-not-path", '(path: "services[0].workers", values: [1])', "metrics[0]", extra='metrics: ["ok"],')
sweep("sweep-unknown-field", '(path: "services[0].workers", values: [1])', "colour", extra='colour: 1,')
sweep("sweep-missing-scenario", '(path: "services[0].workers", values: [1])', "nowhere.ron", extra="").__class__
sweep_cases.pop()
text = base_sweep.replace("GRID", '(path: "services[0].workers", values: [1])').replace("EXTRA", "").replace("../../../experiments/s3-breaker.ron", "nowhere.ron")
(out / "sweep-missing-scenario.sweep.ron").write_text(text)
sweep_cases.append("sweep-missing-scenario.sweep.ron\t2\tnowhere.ron\tsweep {file} --out o")
sweep("sweep-run-as-scenario", '(path: "services[0].workers", values: [1])', "is a sweep file", args="run {file}")
sweep("sweep-shard-zero", '(path: "services[0].workers", values: [1])', "--shard", args="sweep {file} --out o --shard 0/2")
sweep("sweep-shard-over", '(path: "services[0].workers", values: [1])', "--shard", args="sweep {file} --out o --shard 3/2")
sweep("sweep-shard-text", '(path: "services[0].workers", values: [1])', "--shard", args="sweep {file} --out o --shard half")
sweep("sweep-out-is-file", '(path: "services[0].workers", values: [1])', "o", args="sweep {file} --out {file}")
with open(root / "tests" / "corpus" / "files.tsv", "a") as f:
    f.write("\n".join(sweep_cases) + "\n")
print(len(sweep_cases), "sweep cases")
