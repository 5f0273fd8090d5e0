//! Timeouts: `timeout` bounds each attempt, `deadline` the whole call
//! (retries and backoff included). Where each sits in the caller's `order`
//! decides what it covers: the default puts the timeout innermost (it does
//! not cover a bulkhead wait) and the deadline outside the retries.
//!
//! When the timer fires, every layer inside is released (the attempt's work
//! at the service is cancelled or orphaned, by the service's `on_abandon`)
//! and the call ends here with `Timeout`.

use sim_core::{EventId, SimDuration, SimTime};

use super::{Cx, FromSpec, Layer, LayerCounters, SpecCx, Step};
use crate::world::Outcome;

/// A timer around the layers inside it: what timeouts and deadlines share.
#[derive(Clone, Debug)]
struct Expiry {
    after: SimDuration,
    /// Times the timer fired.
    fired: u64,
}

/// A call's pending timer.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimerState {
    timer: Option<EventId>,
    /// When it fires.
    expires: SimTime,
}

impl Expiry {
    fn validate(spec: &Option<SimDuration>, path: &str, cx: &mut SpecCx) -> Option<Expiry> {
        let after = (*spec)?;
        if after.is_zero() {
            cx.push(path, "must be > 0");
            return None;
        }
        Some(Expiry { after, fired: 0 })
    }

    fn enter(&mut self, cx: &mut Cx, st: &mut TimerState) -> Step {
        st.timer = Some(cx.set_fixed_timer(self.after));
        st.expires = cx.now() + self.after;
        Step::Inward
    }

    fn on_result(&mut self, cx: &mut Cx, st: &mut TimerState, outcome: Outcome) -> Step {
        cx.clear_timer(&mut st.timer);
        Step::Outward(outcome)
    }

    fn on_timer(&mut self, st: &mut TimerState) -> Step {
        st.timer = None;
        self.fired += 1;
        Step::Abort(Outcome::Timeout)
    }

    fn on_abort(&mut self, cx: &mut Cx, st: &mut TimerState) {
        cx.clear_timer(&mut st.timer);
    }
}

/// Declares a layer over [`Expiry`]: both kinds behave alike and differ in
/// name and in the counter they report to.
macro_rules! expiry_layer {
    ($(#[$doc:meta])* $name:ident, $counter:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name(Expiry);

        impl $name {
            /// A timer of `after` (must be > 0).
            pub fn new(after: SimDuration) -> Self {
                $name(Expiry { after, fired: 0 })
            }
        }

        impl FromSpec for $name {
            type Spec = Option<SimDuration>;
            fn configured(spec: &Self::Spec) -> bool {
                spec.is_some()
            }
            fn validate(spec: &Self::Spec, path: &str, cx: &mut SpecCx) -> Option<Self> {
                Expiry::validate(spec, path, cx).map($name)
            }
        }

        impl Layer for $name {
            type State = TimerState;
            fn name(&self) -> String {
                format!("{}({:?})", stringify!($name), self.0.after)
            }
            fn enter(&mut self, cx: &mut Cx, st: &mut TimerState) -> Step {
                self.0.enter(cx, st)
            }
            fn on_result(&mut self, cx: &mut Cx, st: &mut TimerState, outcome: Outcome) -> Step {
                self.0.on_result(cx, st, outcome)
            }
            fn on_timer(&mut self, _cx: &mut Cx, st: &mut TimerState) -> Step {
                self.0.on_timer(st)
            }
            fn on_abort(&mut self, cx: &mut Cx, st: &mut TimerState) {
                self.0.on_abort(cx, st)
            }
            fn expiry(&self, st: &TimerState) -> Option<SimTime> {
                st.timer.map(|_| st.expires)
            }
            fn report(&self, c: &mut LayerCounters) {
                c.$counter += self.0.fired;
            }
        }
    };
}

expiry_layer!(
    /// Per-attempt timeout (counted in `timeouts`).
    Timeout,
    timeouts
);
expiry_layer!(
    /// Whole-call deadline (counted in `deadlines_exceeded`).
    Deadline,
    deadlines_exceeded
);
