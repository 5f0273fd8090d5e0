//! Resilience policies as small state machines. None of them schedules
//! anything: each takes `now` and answers, so each can be tested against its
//! definition on its own. The call pipeline in `world` drives them.

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod limiter;
pub mod throttle;
pub mod window;
