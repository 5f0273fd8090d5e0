//! Distributions of durations, as written in scenario files and as sampled.
//!
//! [`DistSpec`] is what a file says (serde, durations with units);
//! [`Dist`] is a validated distribution that can only hold sensible
//! parameters. Sampling never fails and never returns a negative duration.

use rand_distr::{Distribution, Exp1, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::rng::RngStream;
use crate::time::SimDuration;

/// A distribution of durations, as written in a scenario file:
///
/// ```ron
/// Constant("10ms")
/// Uniform(low: "8ms", high: "14ms")
/// Exponential(mean: "100ms")
/// Normal(mean: "10ms", std_dev: "2ms")      // truncated at 0 by resampling
/// LogNormal(median: "20ms", sigma: 0.5)     // ln(X) ~ N(ln(median), sigma)
/// Pareto(scale: "5ms", shape: 2.5)          // P(X > x) = (scale / x)^shape
/// Empirical(samples: ["9ms", "11ms", "40ms"]) // each sample equally likely
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum DistSpec {
    /// Always the same duration.
    Constant(SimDuration),
    /// Uniform on [low, high].
    Uniform {
        /// The smallest value.
        low: SimDuration,
        /// The largest value.
        high: SimDuration,
    },
    /// Exponential (memoryless), as Poisson gaps and M/M/c service.
    Exponential {
        /// The mean.
        mean: SimDuration,
    },
    /// Normal, truncated at zero.
    Normal {
        /// The mean before truncation.
        mean: SimDuration,
        /// The standard deviation before truncation.
        std_dev: SimDuration,
    },
    /// Log-normal: the log of the value is normal.
    LogNormal {
        /// The median (exp of the log's mean).
        median: SimDuration,
        /// The standard deviation of the log.
        sigma: f64,
    },
    /// Pareto (heavy tailed): P(X > x) = (scale / x)^shape for x >= scale.
    Pareto {
        /// The smallest value.
        scale: SimDuration,
        /// The tail index; the mean is finite only above 1.
        shape: f64,
    },
    /// Drawn uniformly from observed values.
    Empirical {
        /// The values (at least one).
        samples: Vec<SimDuration>,
    },
}

/// A validated distribution of durations.
#[derive(Clone, Debug, PartialEq)]
pub struct Dist {
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Constant(SimDuration),
    Uniform {
        low_ns: f64,
        span_ns: f64,
    },
    Exponential {
        mean_ns: f64,
    },
    Normal {
        mean_ns: f64,
        sd_ns: f64,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Pareto {
        scale_ns: f64,
        inv_shape: f64,
        shape: f64,
    },
    Empirical(Vec<SimDuration>),
}

fn positive_finite(value: f64, field: &str) -> Result<f64, FieldError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(FieldError::new(
            field,
            format!("must be a finite number > 0, got {value}"),
        ))
    }
}

fn nonzero(value: SimDuration, field: &str) -> Result<f64, FieldError> {
    if value.is_zero() {
        Err(FieldError::new(field, "must be > 0"))
    } else {
        Ok(value.as_nanos() as f64)
    }
}

impl DistSpec {
    /// Checks the parameters. Errors name the parameter (`std_dev: must be >
    /// 0`); callers place them under the field holding the distribution.
    pub fn validate(&self) -> Result<Dist, FieldError> {
        let kind = match self {
            DistSpec::Constant(d) => Kind::Constant(*d),
            DistSpec::Uniform { low, high } => {
                if high < low {
                    return Err(FieldError::new(
                        "high",
                        format!("must be >= low ({low}), got {high}"),
                    ));
                }
                Kind::Uniform {
                    low_ns: low.as_nanos() as f64,
                    span_ns: (high.as_nanos() - low.as_nanos()) as f64,
                }
            }
            DistSpec::Exponential { mean } => Kind::Exponential {
                mean_ns: nonzero(*mean, "mean")?,
            },
            DistSpec::Normal { mean, std_dev } => Kind::Normal {
                mean_ns: mean.as_nanos() as f64,
                sd_ns: nonzero(*std_dev, "std_dev")?,
            },
            DistSpec::LogNormal { median, sigma } => Kind::LogNormal {
                mu: nonzero(*median, "median")?.ln(),
                sigma: positive_finite(*sigma, "sigma")?,
            },
            DistSpec::Pareto { scale, shape } => {
                let shape = positive_finite(*shape, "shape")?;
                Kind::Pareto {
                    scale_ns: nonzero(*scale, "scale")?,
                    inv_shape: 1.0 / shape,
                    shape,
                }
            }
            DistSpec::Empirical { samples } => {
                if samples.is_empty() {
                    return Err(FieldError::new("samples", "must hold at least one sample"));
                }
                Kind::Empirical(samples.clone())
            }
        };
        Ok(Dist { kind })
    }
}

impl Dist {
    /// A distribution that is always `d`.
    pub fn constant(d: SimDuration) -> Self {
        Dist {
            kind: Kind::Constant(d),
        }
    }

    /// An exponential distribution with mean `mean`.
    pub fn exponential(mean: SimDuration) -> Self {
        DistSpec::Exponential { mean }
            .validate()
            .unwrap_or_else(|_| Dist::constant(SimDuration::ZERO))
    }

    /// Draws one duration.
    #[inline]
    pub fn sample(&self, rng: &mut RngStream) -> SimDuration {
        match &self.kind {
            Kind::Constant(d) => *d,
            Kind::Exponential { mean_ns } => {
                let e: f64 = Exp1.sample(rng.raw());
                SimDuration::from_nanos_f64(mean_ns * e)
            }
            Kind::Uniform { low_ns, span_ns } => {
                SimDuration::from_nanos_f64(low_ns + span_ns * rng.uniform01())
            }
            Kind::Normal { mean_ns, sd_ns } => loop {
                // Truncation at 0 by resampling. The mean is >= 0 (durations
                // cannot be negative), so at least half of the draws are kept.
                let z: f64 = StandardNormal.sample(rng.raw());
                let x = mean_ns + sd_ns * z;
                if x >= 0.0 {
                    break SimDuration::from_nanos_f64(x);
                }
            },
            Kind::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng.raw());
                SimDuration::from_nanos_f64((mu + sigma * z).exp())
            }
            Kind::Pareto {
                scale_ns,
                inv_shape,
                ..
            } => SimDuration::from_nanos_f64(scale_ns * rng.uniform_open01().powf(-inv_shape)),
            Kind::Empirical(samples) => samples[rng.index(samples.len())],
        }
    }

    /// The exact mean in seconds, or `None` where it is infinite (Pareto
    /// with shape <= 1). Used to report offered load and utilisation.
    pub fn mean_secs(&self) -> Option<f64> {
        const NS: f64 = 1e9;
        let mean_ns = match &self.kind {
            Kind::Constant(d) => d.as_nanos() as f64,
            Kind::Uniform { low_ns, span_ns } => low_ns + span_ns / 2.0,
            Kind::Exponential { mean_ns } => *mean_ns,
            Kind::Normal { mean_ns, sd_ns } => {
                // Mean of N(m, s) truncated to [0, inf): m + s * phi(a) / (1 - Phi(a)), a = -m/s.
                let a = -mean_ns / sd_ns;
                let phi = (-a * a / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
                let tail = 0.5 * statrs::function::erf::erfc(a / std::f64::consts::SQRT_2);
                mean_ns + sd_ns * phi / tail
            }
            Kind::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Kind::Pareto {
                scale_ns, shape, ..
            } => {
                if *shape <= 1.0 {
                    return None;
                }
                shape * scale_ns / (shape - 1.0)
            }
            Kind::Empirical(samples) => {
                samples.iter().map(|d| d.as_nanos() as f64).sum::<f64>() / samples.len() as f64
            }
        };
        Some(mean_ns / NS)
    }

    /// Whether every draw is the same value.
    pub fn is_constant(&self) -> bool {
        matches!(self.kind, Kind::Constant(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seeds;

    fn ms(v: u64) -> SimDuration {
        SimDuration::from_millis(v)
    }

    fn sample_mean(d: &Dist, n: usize) -> f64 {
        let mut rng = Seeds::new(11).stream("dist");
        (0..n)
            .map(|_| d.sample(&mut rng).as_secs_f64())
            .sum::<f64>()
            / n as f64
    }

    fn check_mean(spec: DistSpec) {
        let d = spec.validate().unwrap();
        let want = d.mean_secs().unwrap();
        let got = sample_mean(&d, 400_000);
        assert!(
            (got - want).abs() / want < 0.01,
            "{spec:?}: sample mean {got} vs exact {want}"
        );
    }

    #[test]
    fn sample_means_match_exact_means() {
        check_mean(DistSpec::Constant(ms(10)));
        check_mean(DistSpec::Uniform {
            low: ms(8),
            high: ms(14),
        });
        check_mean(DistSpec::Exponential { mean: ms(100) });
        check_mean(DistSpec::Normal {
            mean: ms(10),
            std_dev: ms(2),
        });
        // Heavily truncated: the mean moves well above 1 ms.
        check_mean(DistSpec::Normal {
            mean: ms(1),
            std_dev: ms(5),
        });
        check_mean(DistSpec::LogNormal {
            median: ms(20),
            sigma: 0.5,
        });
        check_mean(DistSpec::Pareto {
            scale: ms(5),
            shape: 3.5,
        });
        check_mean(DistSpec::Empirical {
            samples: vec![ms(1), ms(2), ms(9)],
        });
    }

    #[test]
    fn truncated_normal_is_never_negative() {
        let d = DistSpec::Normal {
            mean: SimDuration::ZERO,
            std_dev: ms(5),
        }
        .validate()
        .unwrap();
        let mut rng = Seeds::new(1).stream("n");
        let mut zeros = 0;
        for _ in 0..10_000 {
            if d.sample(&mut rng).is_zero() {
                zeros += 1;
            }
        }
        assert!(zeros < 10);
        // Half-normal mean: sd * sqrt(2/pi).
        let m = d.mean_secs().unwrap();
        assert!((m - 0.005 * (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn pareto_with_heavy_tail_has_no_mean() {
        let d = DistSpec::Pareto {
            scale: ms(1),
            shape: 1.0,
        }
        .validate()
        .unwrap();
        assert_eq!(d.mean_secs(), None);
    }

    #[test]
    fn impossible_parameters_name_the_parameter() {
        let err = |s: DistSpec| s.validate().unwrap_err().to_string();
        assert_eq!(
            err(DistSpec::Uniform {
                low: ms(5),
                high: ms(1)
            }),
            "high: must be >= low (5ms), got 1ms"
        );
        assert!(err(DistSpec::Exponential { mean: ms(0) }).starts_with("mean: must be > 0"));
        assert!(
            err(DistSpec::Normal {
                mean: ms(1),
                std_dev: ms(0)
            })
            .starts_with("std_dev:")
        );
        assert!(
            err(DistSpec::LogNormal {
                median: ms(1),
                sigma: -1.0
            })
            .starts_with("sigma:")
        );
        assert!(
            err(DistSpec::LogNormal {
                median: ms(1),
                sigma: f64::NAN
            })
            .starts_with("sigma:")
        );
        assert!(
            err(DistSpec::Pareto {
                scale: ms(1),
                shape: 0.0
            })
            .starts_with("shape:")
        );
        assert!(err(DistSpec::Empirical { samples: vec![] }).starts_with("samples:"));
    }

    #[test]
    fn parses_from_ron() {
        let d: DistSpec = ron::from_str(r#"Uniform(low: "8ms", high: "14ms")"#).unwrap();
        assert_eq!(
            d,
            DistSpec::Uniform {
                low: ms(8),
                high: ms(14)
            }
        );
        let d: DistSpec = ron::from_str(r#"Constant("10ms")"#).unwrap();
        assert_eq!(d, DistSpec::Constant(ms(10)));
        let e = ron::from_str::<DistSpec>(r#"Exponential(mean: "1s", rate: 3)"#).unwrap_err();
        assert!(e.to_string().contains("rate"), "{e}");
    }
}
