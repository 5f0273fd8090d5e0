#![warn(missing_docs)]
//! `sim-core`: a deterministic discrete-event simulation engine.
//!
//! It knows nothing about RPCs, queues or retries; models live in
//! `sim-models`. Start with [`sim::Simulation`] and [`sim::Model`].
//!
//! - [`time`]: `SimTime` / `SimDuration`, integer nanoseconds, parsed from "120ms".
//! - [`queue`]: the pending-event heap, ordered by (time, insertion sequence),
//!   with O(1) cancellation.
//! - [`sim`]: the run loop, run limits, zero-delay storm detection.
//! - [`rng`]: one ChaCha8 stream per named component, from one master seed.
//! - [`dist`]: duration distributions as written in scenario files.
//! - [`stats`]: streaming statistics and confidence intervals.
//! - [`analytic`]: queueing-theory formulas the engine is validated against.
//!
//! A model is a struct with one `handle` over its own event type:
//!
//! ```
//! use sim_core::{Model, RunLimits, Scheduler, SimDuration, SimTime, Simulation};
//!
//! /// Ticks every 10 ms and counts the ticks.
//! struct Clock { ticks: u64 }
//!
//! impl Model for Clock {
//!     type Event = ();
//!     fn handle(&mut self, sched: &mut Scheduler<()>, _: ()) {
//!         self.ticks += 1;
//!         sched.schedule_in(SimDuration::from_millis(10), ());
//!     }
//! }
//!
//! let mut sim = Simulation::new(Clock { ticks: 0 });
//! sim.sched.schedule_at(SimTime::ZERO, ());
//! sim.run(&RunLimits::until(SimTime::at(SimDuration::from_secs(1)))).unwrap();
//! // At 0, 10 ms, ..., 1 s: events at the limit itself still fire.
//! assert_eq!(sim.model.ticks, 101);
//! ```

pub mod analytic;
pub mod dist;
pub mod error;
mod heap;
pub mod queue;
pub mod rng;
pub mod sim;
pub mod stats;
pub mod time;

/// Cheap reproducible draws for randomized tests (xorshift64): not the
/// simulation's streams, which are ChaCha (`rng`).
#[cfg(test)]
pub(crate) fn test_draws(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

pub use dist::{Dist, DistSpec};
pub use error::FieldError;
pub use queue::EventId;
pub use rng::{RngStream, Seeds};
pub use sim::{Model, RunLimits, RunReport, Scheduler, SimError, Simulation, StopReason};
pub use time::{SimDuration, SimTime};
