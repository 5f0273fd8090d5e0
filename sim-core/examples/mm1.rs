//! M/M/1 at rho = 0.9 through the engine: a throughput and memory check.
//!
//! ```text
//! cargo run --release -p sim-core --example mm1 -- 10000000
//! cargo run --release -p sim-core --example mm1 -- 10000000 1 --bare
//! ```
//!
//! Runs N customers (default 1e6, scientific notation such as `1e7` is
//! accepted) and prints customers/s, events/s, the mean sojourn time against
//! the analytic 1/(mu - lambda), the p99 from the histogram and the process's
//! peak resident memory (VmHWM).
//!
//! The model below is also compiled into `benches/engine.rs` (through
//! `#[path]`), so the benchmark and this example measure the same code.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use sim_core::stats::{LatencyHistogram, TimeWeighted};
use sim_core::{
    Model, RngStream, RunLimits, Scheduler, Seeds, SimDuration, SimTime, Simulation, StopReason,
};

/// Mean service time: 1 ms, so lambda = 0.9 per ms and mu = 1 per ms.
pub const MEAN_SERVICE_NS: f64 = 1_000_000.0;
/// Offered load lambda / mu.
pub const RHO: f64 = 0.9;
/// Mean interarrival time, 1/lambda.
pub const MEAN_INTERARRIVAL_NS: f64 = MEAN_SERVICE_NS / RHO;
pub const ARRIVAL_STREAM: &str = "mm1/arrivals";
pub const SERVICE_STREAM: &str = "mm1/service";
pub const DEFAULT_SEED: u64 = 1;

/// Analytic mean sojourn time 1/(mu - lambda), in nanoseconds.
pub fn analytic_mean_sojourn_ns() -> f64 {
    MEAN_SERVICE_NS / (1.0 - RHO)
}

/// Analytic p99 of the sojourn time: it is Exp(mu - lambda), so ln(100)/(mu - lambda).
pub fn analytic_p99_sojourn_ns() -> f64 {
    100f64.ln() * analytic_mean_sojourn_ns()
}

/// One exponential draw, rounded to integer nanoseconds.
#[inline]
pub fn draw(rng: &mut RngStream, mean_ns: f64) -> SimDuration {
    SimDuration::from_nanos_f64(rng.exponential(mean_ns))
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ev {
    Arrival,
    Departure,
}

/// A single FIFO server; `in_system` holds the arrival times of the customers
/// present, the head being the one in service.
pub struct Mm1 {
    arrivals: RngStream,
    service: RngStream,
    arrivals_left: u64,
    in_system: VecDeque<SimTime>,
    pub sojourn: LatencyHistogram,
    pub queue_len: TimeWeighted,
}

impl Model for Mm1 {
    type Event = Ev;

    #[inline]
    fn handle(&mut self, sched: &mut Scheduler<Ev>, ev: Ev) {
        let now = sched.now();
        match ev {
            Ev::Arrival => {
                self.in_system.push_back(now);
                self.queue_len.set(now, self.in_system.len() as u64);
                if self.in_system.len() == 1 {
                    sched.schedule_in(draw(&mut self.service, MEAN_SERVICE_NS), Ev::Departure);
                }
                if self.arrivals_left > 0 {
                    self.arrivals_left -= 1;
                    sched.schedule_in(draw(&mut self.arrivals, MEAN_INTERARRIVAL_NS), Ev::Arrival);
                }
            }
            Ev::Departure => {
                let arrived = self.in_system.pop_front().expect("departure from empty");
                self.sojourn.record(now - arrived);
                self.queue_len.set(now, self.in_system.len() as u64);
                if !self.in_system.is_empty() {
                    sched.schedule_in(draw(&mut self.service, MEAN_SERVICE_NS), Ev::Departure);
                }
            }
        }
    }
}

/// A simulation of `customers` customers with the first arrival scheduled,
/// ready to run to exhaustion.
pub fn mm1_simulation(customers: u64, seed: u64) -> Simulation<Mm1> {
    assert!(customers > 0);
    let seeds = Seeds::new(seed);
    let mut sim = Simulation::new(Mm1 {
        arrivals: seeds.stream(ARRIVAL_STREAM),
        service: seeds.stream(SERVICE_STREAM),
        arrivals_left: customers - 1,
        in_system: VecDeque::new(),
        sojourn: LatencyHistogram::new(),
        queue_len: TimeWeighted::new(SimTime::ZERO, 0),
    });
    let first = draw(&mut sim.model.arrivals, MEAN_INTERARRIVAL_NS);
    sim.sched.schedule_in(first, Ev::Arrival);
    sim
}

/// What an M/M/1 run produced (the engine and the bench's bare loop both
/// return this, so they can be checked against each other).
pub struct Mm1Outcome {
    pub customers: u64,
    pub events: u64,
    pub end: SimTime,
    pub sojourn: LatencyHistogram,
    pub mean_queue_len: f64,
}

/// Runs a simulation from [`mm1_simulation`] to exhaustion.
pub fn run_mm1(mut sim: Simulation<Mm1>) -> Mm1Outcome {
    let report = sim
        .run(&RunLimits::to_exhaustion())
        .expect("M/M/1 has no zero-delay loop");
    debug_assert_eq!(report.reason, StopReason::NoEvents);
    let Mm1 {
        sojourn, queue_len, ..
    } = sim.model;
    Mm1Outcome {
        customers: sojourn.count(),
        events: report.events_handled,
        end: report.now,
        mean_queue_len: queue_len.mean(report.now),
        sojourn,
    }
}

/// M/M/1 by hand, no engine: the same draws, the same (time, insertion
/// order) event order and the same statistics as `mm1::Mm1` in the engine.
pub fn mm1_bare(customers: u64, seed: u64) -> Mm1Outcome {
    let seeds = Seeds::new(seed);
    let mut arrivals = seeds.stream(ARRIVAL_STREAM);
    let mut service = seeds.stream(SERVICE_STREAM);
    let mut sojourn = LatencyHistogram::new();
    let mut queue_len = TimeWeighted::new(SimTime::ZERO, 0);
    let mut in_system: VecDeque<u64> = VecDeque::new();
    let mut heap: BinaryHeap<Reverse<(u64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut arrivals_left = customers - 1;
    let mut events = 0u64;
    let mut now = 0u64;

    heap.push(Reverse((
        draw(&mut arrivals, MEAN_INTERARRIVAL_NS).as_nanos(),
        seq,
        Ev::Arrival,
    )));
    seq += 1;
    while let Some(Reverse((t, _, ev))) = heap.pop() {
        now = t;
        events += 1;
        match ev {
            Ev::Arrival => {
                in_system.push_back(now);
                queue_len.set(SimTime::from_nanos(now), in_system.len() as u64);
                if in_system.len() == 1 {
                    let d = draw(&mut service, MEAN_SERVICE_NS).as_nanos();
                    heap.push(Reverse((now.saturating_add(d), seq, Ev::Departure)));
                    seq += 1;
                }
                if arrivals_left > 0 {
                    arrivals_left -= 1;
                    let d = draw(&mut arrivals, MEAN_INTERARRIVAL_NS).as_nanos();
                    heap.push(Reverse((now.saturating_add(d), seq, Ev::Arrival)));
                    seq += 1;
                }
            }
            Ev::Departure => {
                let arrived = in_system.pop_front().expect("departure from empty");
                sojourn.record(SimDuration::from_nanos(now - arrived));
                queue_len.set(SimTime::from_nanos(now), in_system.len() as u64);
                if !in_system.is_empty() {
                    let d = draw(&mut service, MEAN_SERVICE_NS).as_nanos();
                    heap.push(Reverse((now.saturating_add(d), seq, Ev::Departure)));
                    seq += 1;
                }
            }
        }
    }
    let end = SimTime::from_nanos(now);
    Mm1Outcome {
        customers: sojourn.count(),
        events,
        end,
        mean_queue_len: queue_len.mean(end),
        sojourn,
    }
}

/// Peak resident set size of this process in kB, from /proc/self/status.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn parse_count(s: &str) -> Result<u64, String> {
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    match s.parse::<f64>() {
        Ok(x) if x >= 1.0 && x.fract() == 0.0 && x < u64::MAX as f64 => Ok(x as u64),
        _ => Err(format!("not a positive customer count: {s:?}")),
    }
}

fn main() {
    // `--bare`: the hand-written heap loop instead of the engine.
    let all: Vec<String> = std::env::args().skip(1).collect();
    let bare = all.iter().any(|a| a == "--bare");
    let mut args = all.into_iter().filter(|a| a != "--bare");
    let customers = match args.next().map(|a| parse_count(&a)) {
        None => 1_000_000,
        Some(Ok(n)) if n > 0 => n,
        Some(Ok(_)) => {
            eprintln!("usage: mm1 [CUSTOMERS > 0] [SEED]");
            std::process::exit(2);
        }
        Some(Err(e)) => {
            eprintln!("{e}\nusage: mm1 [CUSTOMERS] [SEED]");
            std::process::exit(2);
        }
    };
    let seed = match args.next().map(|a| a.parse::<u64>()) {
        None => DEFAULT_SEED,
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            eprintln!("bad seed: {e}\nusage: mm1 [CUSTOMERS] [SEED]");
            std::process::exit(2);
        }
    };

    let sim = (!bare).then(|| mm1_simulation(customers, seed));
    let start = std::time::Instant::now();
    let out = match sim {
        Some(sim) => run_mm1(sim),
        None => mm1_bare(customers, seed),
    };
    let wall = start.elapsed().as_secs_f64();

    let ms = |ns: f64| ns / 1e6;
    let mean = out.sojourn.mean().map_or(f64::NAN, |d| d.as_nanos() as f64);
    let p99 = out
        .sojourn
        .quantile(0.99)
        .map_or(f64::NAN, |d| d.as_nanos() as f64);
    let analytic_mean = analytic_mean_sojourn_ns();
    println!(
        "M/M/1, rho = {RHO}, mean service {} ms, seed {seed}{}",
        ms(MEAN_SERVICE_NS),
        if bare { ", bare heap loop" } else { "" }
    );
    println!("customers        {}", out.customers);
    println!("events           {}", out.events);
    println!("simulated time   {:.3} s", out.end.as_secs_f64());
    println!("wall time        {wall:.3} s");
    println!("customers/s      {:.0}", out.customers as f64 / wall);
    println!("events/s         {:.0}", out.events as f64 / wall);
    println!(
        "mean sojourn     {:.4} ms (analytic 1/(mu-lambda) = {:.4} ms, {:+.2}%)",
        ms(mean),
        ms(analytic_mean),
        100.0 * (mean / analytic_mean - 1.0)
    );
    println!(
        "p99 sojourn      {:.4} ms (analytic {:.4} ms)",
        ms(p99),
        ms(analytic_p99_sojourn_ns())
    );
    println!(
        "mean in system   {:.4} (analytic rho/(1-rho) = {:.4})",
        out.mean_queue_len,
        RHO / (1.0 - RHO)
    );
    match peak_rss_kb() {
        Some(kb) => println!("peak RSS (VmHWM) {kb} kB ({:.1} MB)", kb as f64 / 1000.0),
        None => println!("peak RSS (VmHWM) unavailable"),
    }
}
