//! Resilience policies: each one module holding its file spec (serde), its
//! validation, its per-call state, its behaviour (the [`Layer`] trait) and
//! its counters. The state machines they are built on (backoff shapes,
//! budgets, the breaker, the token bucket, the sliding window) take `now`
//! and answer, so each is tested against its definition on its own.
//!
//! # Adding a policy
//!
//! Write a module with a spec type, a layer type implementing [`Layer`] and
//! [`FromSpec`], then add one line to [`for_each_policy!`](crate::for_each_policy). The line gives
//! the policy its name in `order`, its field in a caller's spec (in
//! `CallSpec` and `ClientSpec`, generated from that line), and its place in
//! the default order. Document the field in `docs/scenario-format.md`.
//! A policy written outside this crate implements [`Layer`] alone and is
//! added to a caller built in Rust with [`Policy::custom`].

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod bulkhead;
pub mod concurrency_limit;
pub mod fallback;
pub mod hedge;
pub mod layer;
pub mod limiter;
pub mod rate_limit;
pub mod retry;
pub mod throttle;
pub mod timeout;
pub mod window;

use serde::{Deserialize, Serialize};

pub(crate) use layer::{AnyState, Frame, OtherFrames};
pub use layer::{CustomLayer, Cx, Layer, LayerCounters, Step};

use crate::scenario::{CallSpec, Errors};

/// What validating a policy's field may look at.
pub struct SpecCx<'a> {
    pub(crate) errors: &'a mut Errors,
    /// The scenario's rate limiter names, in file order.
    pub(crate) limiters: &'a [&'a str],
}

impl SpecCx<'_> {
    /// Records an invalid value at `path`.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(path, message);
    }

    /// Keeps `r`'s value, or records its error under `path`.
    pub fn check<T>(&mut self, path: &str, r: Result<T, sim_core::FieldError>) -> Option<T> {
        self.errors.check(path, r)
    }
}

/// A built-in policy as written in a caller's spec.
pub trait FromSpec: Layer + Sized {
    /// The type of the policy's field (`Option<RetrySpec>`, `bool`...).
    type Spec;
    /// Whether the layer must be its caller's innermost (it sends the
    /// attempts itself, several at once, so nothing with one state per call
    /// may sit inside it).
    const INNERMOST: bool = false;
    /// Whether the field turns the policy on.
    fn configured(spec: &Self::Spec) -> bool;
    /// The checked layer; errors go to `cx` under `path` (the field's path,
    /// e.g. `clients[0].retry`). Called only when [`FromSpec::configured`].
    fn validate(spec: &Self::Spec, path: &str, cx: &mut SpecCx) -> Option<Self>;
}

/// For `skip_serializing_if`: the policy fields of round 1 are written
/// even when unset (`"retry": null`), so documents keep their bytes;
/// fields added since are left out when unset.
pub(crate) fn always_written<T>(_: &T) -> bool {
    false
}

/// Reaches a built-in layer's per-call state inside a call's frame.
pub(crate) trait Builtin: Layer {
    fn state_mut(frame: &mut FrameState) -> Option<&mut Self::State>;
}

/// The built-in policies, one line each: the kind (its name in `order`),
/// its field in a caller's spec and that field's type, the layer, its
/// place in the default order (smaller is outer), the field's doc, and
/// when the field is left out of a written spec (`skip_serializing_if`).
///
/// Lines are in the order of the fields in the file format (and so in the
/// `config` of result documents). The default order follows Polly v8's
/// recommended pipeline and matches S1: Fallback, Deadline, Retry,
/// Throttle, Breaker, RateLimit, Bulkhead, Timeout. The per-attempt timeout
/// is innermost, so it does not cover the bulkhead wait; the deadline is
/// outside the retries and covers them all.
///
/// `for_each_policy!(m, ARGS...)` expands to `m! { [ARGS...] LINES }`, so
/// each thing generated from the list is one macro over it.
#[macro_export]
#[doc(hidden)]
macro_rules! for_each_policy {
    ($callback:ident $(, $($args:tt)*)?) => {
        $callback! { [$($($args)*)?]
            Timeout timeout: Option<::sim_core::SimDuration>,
                $crate::policy::timeout::Timeout, 70,
                "Per-attempt timeout.", "crate::policy::always_written";
            Deadline deadline: Option<::sim_core::SimDuration>,
                $crate::policy::timeout::Deadline, 10,
                "Overall deadline of the call, retries and backoff included.", "crate::policy::always_written";
            Retry retry: Option<$crate::policy::retry::RetrySpec>,
                $crate::policy::retry::Retry, 20,
                "Retries of failed attempts, with backoff and an optional budget.", "crate::policy::always_written";
            Breaker breaker: Option<$crate::policy::breaker::BreakerSpec>,
                $crate::policy::breaker::Breaker, 40,
                "A circuit breaker.", "crate::policy::always_written";
            Bulkhead bulkhead: Option<$crate::policy::bulkhead::BulkheadSpec>,
                $crate::policy::bulkhead::Bulkhead, 60,
                "A limit on attempts in flight.", "crate::policy::always_written";
            RateLimit rate_limit: Option<$crate::policy::rate_limit::RateLimitSpec>,
                $crate::policy::rate_limit::RateLimit, 50,
                "Takes a token from a named rate limiter before each attempt.", "crate::policy::always_written";
            Throttle throttle: Option<$crate::policy::throttle::ThrottleSpec>,
                $crate::policy::throttle::AdaptiveThrottle, 30,
                "Adaptive client-side throttling (Google SRE).", "crate::policy::always_written";
            Fallback fallback: bool,
                $crate::policy::fallback::Fallback, 0,
                "Turn a failed call into a degraded success.", "crate::policy::always_written";
            Hedge hedge: Option<$crate::policy::hedge::HedgeSpec>,
                $crate::policy::hedge::Hedge, 80,
                "Hedged requests (gRPC): another attempt every delay until one succeeds.", "crate::policy::always_written";
            ConcurrencyLimit concurrency_limit: Option<$crate::policy::concurrency_limit::ConcurrencyLimitSpec>,
                $crate::policy::concurrency_limit::ConcurrencyLimit, 65,
                "An adaptive concurrency limit on attempts in flight (Netflix's AIMD, Vegas, Gradient2).",
                "Option::is_none";
        }
    };
}

/// Generates, from [`for_each_policy!`]'s list, [`PolicyKind`], [`Policy`],
/// the per-call frame and the dispatch from one to the other.
macro_rules! define_policies {
    ([] $( $kind:ident $field:ident : $spec:ty, $layer:ty, $rank:literal, $doc:literal, $skip:literal; )*) => {
        /// A policy's name in a caller's `order`.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        pub enum PolicyKind {
            $( #[doc = $doc] $kind, )*
        }

        impl PolicyKind {
            /// Every kind, in the order of their fields in the file.
            pub const ALL: &'static [PolicyKind] = &[$( PolicyKind::$kind ),*];

            /// The order used when a caller gives none, outermost first.
            pub fn default_order() -> Vec<PolicyKind> {
                let mut ranked = vec![$( ($rank, PolicyKind::$kind) ),*];
                ranked.sort_by_key(|&(rank, _)| rank);
                ranked.into_iter().map(|(_, k)| k).collect()
            }

            /// The caller's field that configures this policy.
            pub fn field(self) -> &'static str {
                match self {
                    $( PolicyKind::$kind => stringify!($field), )*
                }
            }

            /// Whether the policy must be its caller's innermost layer.
            pub fn innermost(self) -> bool {
                match self {
                    $( PolicyKind::$kind => <$layer as FromSpec>::INNERMOST, )*
                }
            }

            /// Whether `spec` configures this policy.
            pub fn configured(self, spec: &CallSpec) -> bool {
                match self {
                    $( PolicyKind::$kind => <$layer as FromSpec>::configured(&spec.$field), )*
                }
            }

            /// Validates this policy's field of `spec` (`path`: the caller's path).
            pub fn validate(self, spec: &CallSpec, path: &str, cx: &mut SpecCx) -> Option<Policy> {
                match self {
                    $( PolicyKind::$kind => <$layer as FromSpec>::validate(
                        &spec.$field,
                        &format!("{path}.{}", stringify!($field)),
                        cx,
                    ).map(Policy::$kind), )*
                }
            }
        }

        /// One layer of a caller, with its configuration and running state.
        // One per caller and layer, never per call: the breaker's size is
        // not worth a box and an indirection on every event.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug)]
        pub enum Policy {
            $( #[doc = $doc] $kind($layer), )*
            /// A layer written outside this crate.
            Custom(CustomLayer),
        }

        /// What a call remembers about one of its layers: a built-in
        /// layer's state, plain data (`Copy`, so a new call's frames are
        /// one copy), or a mark for a custom layer, whose state is kept
        /// beside the frames ([`Frame::custom`]).
        #[derive(Clone, Copy, Debug)]
        pub(crate) enum FrameState {
            $( $kind(<$layer as Layer>::State), )*
            Custom,
        }

        $(
            impl Builtin for $layer {
                fn state_mut(frame: &mut FrameState) -> Option<&mut Self::State> {
                    match frame {
                        FrameState::$kind(s) => Some(s),
                        _ => None,
                    }
                }
            }
        )*

        impl Policy {
            /// The built-in kind, `None` for a custom layer.
            pub fn kind(&self) -> Option<PolicyKind> {
                match self {
                    $( Policy::$kind(_) => Some(PolicyKind::$kind), )*
                    Policy::Custom(_) => None,
                }
            }

            /// The layer's name in traces.
            pub fn name(&self) -> String {
                match self {
                    $( Policy::$kind(l) => l.name(), )*
                    Policy::Custom(l) => l.name(),
                }
            }

            /// A call's state for this layer before the call reaches it.
            pub(crate) fn fresh_state(&self) -> FrameState {
                match self {
                    $( Policy::$kind(_) => FrameState::$kind(Default::default()), )*
                    Policy::Custom(_) => FrameState::Custom,
                }
            }

            #[inline]
            pub(crate) fn enter(&mut self, cx: &mut Cx, fr: Frame) -> Step {
                match (self, fr.state) {
                    $( (Policy::$kind(l), FrameState::$kind(s)) => l.enter(cx, s), )*
                    (Policy::Custom(l), FrameState::Custom) => l.enter(cx, fr.custom),
                    _ => unreachable!("a call's frame matches its layer"),
                }
            }

            #[inline]
            pub(crate) fn on_result(
                &mut self,
                cx: &mut Cx,
                fr: Frame,
                outcome: crate::world::Outcome,
            ) -> Step {
                match (self, fr.state) {
                    $( (Policy::$kind(l), FrameState::$kind(s)) => l.on_result(cx, s, outcome), )*
                    (Policy::Custom(l), FrameState::Custom) => l.on_result(cx, fr.custom, outcome),
                    _ => unreachable!("a call's frame matches its layer"),
                }
            }

            #[inline]
            pub(crate) fn on_timer(&mut self, cx: &mut Cx, fr: Frame) -> Step {
                match (self, fr.state) {
                    $( (Policy::$kind(l), FrameState::$kind(s)) => l.on_timer(cx, s), )*
                    (Policy::Custom(l), FrameState::Custom) => l.on_timer(cx, fr.custom),
                    _ => unreachable!("a call's frame matches its layer"),
                }
            }

            #[inline]
            pub(crate) fn on_grant(&mut self, cx: &mut Cx, fr: Frame) -> Step {
                match (self, fr.state) {
                    $( (Policy::$kind(l), FrameState::$kind(s)) => l.on_grant(cx, s), )*
                    (Policy::Custom(l), FrameState::Custom) => l.on_grant(cx, fr.custom),
                    _ => unreachable!("a call's frame matches its layer"),
                }
            }

            #[inline]
            pub(crate) fn on_abort(&mut self, cx: &mut Cx, fr: Frame) {
                match (self, fr.state) {
                    $( (Policy::$kind(l), FrameState::$kind(s)) => l.on_abort(cx, s), )*
                    (Policy::Custom(l), FrameState::Custom) => l.on_abort(cx, fr.custom),
                    _ => unreachable!("a call's frame matches its layer"),
                }
            }

            /// When the layer gives up on the call ([`Layer::expiry`]).
            pub(crate) fn expiry(&self, st: &FrameState) -> Option<sim_core::SimTime> {
                match (self, st) {
                    $( (Policy::$kind(l), FrameState::$kind(s)) => l.expiry(s), )*
                    _ => None,
                }
            }

            /// The run ended at `end`.
            pub fn finish(&mut self, end: sim_core::SimTime) {
                match self {
                    $( Policy::$kind(l) => l.finish(end), )*
                    Policy::Custom(l) => l.finish(end),
                }
            }

            /// Adds the layer's counters to `counters`.
            pub fn report(&self, counters: &mut LayerCounters) {
                match self {
                    $( Policy::$kind(l) => l.report(counters), )*
                    Policy::Custom(l) => l.report(counters),
                }
            }
        }
    };
}

for_each_policy!(define_policies);

impl Policy {
    /// Wraps a layer written outside this crate, to be placed in a
    /// [`Caller`](crate::scenario::Caller)'s `layers` (outermost first).
    pub fn custom<L: Layer>(layer: L) -> Policy {
        Policy::Custom(CustomLayer::new(layer))
    }

    /// The adaptive concurrency limit, if this layer is one (its limit over
    /// time is a series).
    pub fn as_concurrency_limit(&self) -> Option<&concurrency_limit::ConcurrencyLimit> {
        match self {
            Policy::ConcurrencyLimit(l) => Some(l),
            _ => None,
        }
    }

    /// Gives layers that keep a series their bucket width (before a run).
    pub(crate) fn set_series_bucket(&mut self, width: sim_core::SimDuration) {
        if let Policy::ConcurrencyLimit(l) = self {
            l.track.set_bucket(width);
        }
    }

    /// Merges the buckets of a layer's series up to `width` (at the end).
    pub(crate) fn coarsen_series_to(&mut self, width: sim_core::SimDuration) {
        if let Policy::ConcurrencyLimit(l) = self {
            l.track.coarsen_to(width);
        }
    }

    /// The breaker, if this layer is one (its state over time is a series).
    pub fn as_breaker(&self) -> Option<&breaker::Breaker> {
        match self {
            Policy::Breaker(b) => Some(b),
            _ => None,
        }
    }
}
