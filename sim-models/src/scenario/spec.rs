//! The scenario file as written: the whole file, the metrics settings, and
//! the callers' spec (`CallSpec`, `ClientSpec`, their policy fields from
//! `for_each_policy!`). Each component's own part of the format is in its
//! module (`service.rs`, `client.rs`, `fault.rs`, `bus.rs`, `log.rs`,
//! `lock.rs`), with its validated form and its validation.
//! `docs/scenario-format.md` is the user-facing reference and must agree
//! with these files (tests/tests/docs.rs checks every field).

use super::bus::*;
use super::client::*;
use super::fault::*;
use super::lock::*;
use super::log::*;
use super::service::*;
use serde::{Deserialize, Serialize};
use sim_core::{DistSpec, SimDuration};

pub use crate::policy::PolicyKind;
pub use crate::policy::bulkhead::BulkheadSpec;
use crate::policy::limiter::RateLimiterSpec;
pub use crate::policy::rate_limit::RateLimitSpec;
pub use crate::policy::retry::{RetryOn, RetrySpec};

fn one() -> u32 {
    1
}
fn default_seed() -> u64 {
    1
}

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Its name.
    pub name: String,
    #[serde(default)]
    /// What it is about (default empty).
    pub description: String,
    /// Master seed (default 1). Replication k uses seed + k.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time to run. `None`: until all work is done, which needs
    /// every workload to be finite (a `requests` limit, a `stop`, or a replay).
    #[serde(default)]
    pub duration: Option<SimDuration>,
    /// Independent replications (default 1); metrics are averaged with 95%
    /// confidence intervals when there are several.
    #[serde(default = "one")]
    pub replications: u32,
    #[serde(default)]
    /// How metrics over time are kept.
    pub metrics: MetricsSpec,
    #[serde(default)]
    /// The services.
    pub services: Vec<ServiceSpec>,
    #[serde(default)]
    /// The client groups.
    pub clients: Vec<ClientSpec>,
    /// Token buckets that `rate_limit` policies refer to by name.
    #[serde(default)]
    pub rate_limiters: Vec<RateLimiterSpec>,
    #[serde(default)]
    /// The fault schedule.
    pub faults: Vec<FaultSpec>,
    /// Message queues with consumers (event-driven paths).
    #[serde(default)]
    pub buses: Vec<BusSpec>,
    /// Partitioned, durable logs with a consumer group.
    #[serde(default)]
    pub logs: Vec<LogSpec>,
    /// Leased locks with contending holders.
    #[serde(default)]
    pub locks: Vec<LockSpec>,
}

fn hundred_ms() -> SimDuration {
    SimDuration::from_millis(100)
}
fn one_second() -> SimDuration {
    SimDuration::from_secs(1)
}
fn five_percent() -> f64 {
    0.05
}

/// How metrics over time are kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// Width of the time-series buckets (default 100ms).
    #[serde(default = "hundred_ms")]
    pub bucket: SimDuration,
    /// Window over which the success rate is judged when measuring the time
    /// to recover (default 1s).
    #[serde(default = "one_second")]
    pub recovery_window: SimDuration,
    /// Recovered means the windowed success rate is back within this
    /// fraction of its pre-disturbance level (default 0.05, i.e. 5%).
    #[serde(default = "five_percent")]
    pub recovery_tolerance: f64,
    /// The disturbance that recovery is measured from, as [start, end].
    /// Default: the span of the fault schedule; without faults, the span of
    /// workload schedule steps above their first rate; otherwise none.
    #[serde(default)]
    pub disturbance: Option<(SimDuration, SimDuration)>,
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec {
            bucket: hundred_ms(),
            recovery_window: one_second(),
            recovery_tolerance: five_percent(),
            disturbance: None,
        }
    }
}

pub(crate) fn one_f() -> f64 {
    1.0
}

/// Declares a caller's spec struct: the given fields, the fields about the
/// target's replicas, then one field per policy of
/// [`for_each_policy!`](crate::for_each_policy) (in its order), then
/// `order`.
macro_rules! with_policy_fields {
    ([ $(#[$m:meta])* pub struct $name:ident { $($pre:tt)* } ]
     $( $kind:ident $field:ident : $spec:ty, $layer:ty, $rank:literal, $doc:literal, $skip:literal; )*) => {
        $(#[$m])*
        pub struct $name {
            $($pre)*
            /// How attempts are spread over the target's replicas (default
            /// round robin; only matters with `replicas` or `autoscale`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub load_balancer: Option<crate::balancer::LoadBalancerSpec>,
            /// A retry goes to another replica than the attempt before it,
            /// when one can take it (Envoy's `previous_hosts` retry
            /// predicate).
            #[serde(default, skip_serializing_if = "std::ops::Not::not")]
            pub avoid_previous_replica: bool,
            /// Envoy's outlier ejection over the target's replicas, as this
            /// caller sees them (default none).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub outlier_ejection: Option<crate::balancer::OutlierEjectionSpec>,
            $( #[doc = $doc] #[serde(default, skip_serializing_if = $skip)] pub $field: $spec, )*
            /// The configured policies, outermost first. Default: those
            /// configured, in [`PolicyKind::default_order`].
            #[serde(default)]
            pub order: Option<Vec<PolicyKind>>,
        }
    };
}

crate::for_each_policy!(
    with_policy_fields,
    /// The policies around one caller's calls to one target. Each is
    /// optional; `order` lists them outermost first (see
    /// [`for_each_policy!`](crate::for_each_policy) for the default).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CallSpec {
        /// The service it calls.
        pub target: String,
        /// One-way network latency, applied to the request and to the response.
        #[serde(default)]
        pub network: Option<DistSpec>,
    }
);

crate::for_each_policy!(
    with_policy_fields,
    /// A group of callers sharing one workload and one set of policies.
    ///
    /// The call fields (`target` to `order`) are `CallSpec`'s: serde's
    /// `flatten` cannot be combined with `deny_unknown_fields`, and unknown
    /// fields must be errors, so both structs are declared from the same
    /// list. [`ClientSpec::call`] turns them into a `CallSpec`, so
    /// everything after parsing has one code path.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ClientSpec {
        /// Its name.
        pub name: String,
        /// When its requests start.
        pub workload: WorkloadSpec,
        /// Stop after this many requests.
        #[serde(default)]
        pub requests: Option<u64>,
        /// No requests before this instant (default 0s).
        #[serde(default)]
        pub start: SimDuration,
        /// No new requests from this instant on.
        #[serde(default)]
        pub stop: Option<SimDuration>,
        /// Independent clients the group stands for (default 1), each with
        /// its own policy state (budget, breaker, limiters); requests are
        /// dealt to them in turn (a closed-loop user always to the same).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub instances: Option<u32>,
        /// Business priority of its requests, 0 (default, most important)
        /// to 63: what a service's `priority_admission` sheds last.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub priority: Option<u8>,
        /// The service, bus or log its requests go to.
        pub target: String,
        /// One-way network latency, applied to the request and to the response.
        #[serde(default)]
        pub network: Option<DistSpec>,
    }
);

macro_rules! client_call {
    ([] $( $kind:ident $field:ident : $spec:ty, $layer:ty, $rank:literal, $doc:literal, $skip:literal; )*) => {
        impl ClientSpec {
            /// The client's calls, described like any other caller's.
            pub fn call(&self) -> CallSpec {
                CallSpec {
                    target: self.target.clone(),
                    network: self.network.clone(),
                    load_balancer: self.load_balancer.clone(),
                    avoid_previous_replica: self.avoid_previous_replica,
                    outlier_ejection: self.outlier_ejection.clone(),
                    $( $field: self.$field.clone(), )*
                    order: self.order.clone(),
                }
            }

            /// The call fields this client sets, by name (a client that
            /// publishes to a bus or a log may set none).
            pub fn call_fields_set(&self) -> Vec<&'static str> {
                let mut set = Vec::new();
                if self.network.is_some() {
                    set.push("network");
                }
                if self.load_balancer.is_some() {
                    set.push("load_balancer");
                }
                if self.avoid_previous_replica {
                    set.push("avoid_previous_replica");
                }
                if self.outlier_ejection.is_some() {
                    set.push("outlier_ejection");
                }
                $(
                    if <$layer as $crate::policy::FromSpec>::configured(&self.$field) {
                        set.push(stringify!($field));
                    }
                )*
                if self.order.is_some() {
                    set.push("order");
                }
                set
            }
        }
    };
}

crate::for_each_policy!(client_call);
