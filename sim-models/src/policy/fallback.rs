//! Fallback: a failed call becomes a degraded success (a cached or default
//! answer), counted as `degraded`, not as a failure.

use super::{Cx, FromSpec, Layer, SpecCx, Step};
use crate::world::Outcome;

#[derive(Clone, Debug)]
/// Turns a failed call into a degraded success.
pub struct Fallback;

impl FromSpec for Fallback {
    type Spec = bool;
    fn configured(spec: &bool) -> bool {
        *spec
    }
    fn validate(_: &bool, _: &str, _: &mut SpecCx) -> Option<Self> {
        Some(Fallback)
    }
}

impl Layer for Fallback {
    type State = ();
    fn name(&self) -> String {
        "Fallback".into()
    }
    fn enter(&mut self, _: &mut Cx, _: &mut ()) -> Step {
        Step::Inward
    }
    fn on_result(&mut self, _: &mut Cx, _: &mut (), outcome: Outcome) -> Step {
        Step::Outward(if outcome.is_success() {
            outcome
        } else {
            Outcome::Degraded
        })
    }
}
