use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// A mean with its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The sample mean.
    pub mean: f64,
    /// Half-width of the interval at the requested level; `None` with fewer
    /// than two samples, where no interval exists.
    pub half_width: Option<f64>,
    /// The sample standard deviation (`None` with one sample).
    pub std_dev: Option<f64>,
    /// The number of samples.
    pub n: usize,
}

impl Estimate {
    /// The interval's lower end (`None` with one sample).
    pub fn lower(&self) -> Option<f64> {
        self.half_width.map(|h| self.mean - h)
    }
    /// The interval's upper end (`None` with one sample).
    pub fn upper(&self) -> Option<f64> {
        self.half_width.map(|h| self.mean + h)
    }
    /// Whether `x` lies inside the interval (a missing interval contains only
    /// the mean itself).
    pub fn contains(&self, x: f64) -> bool {
        (x - self.mean).abs() <= self.half_width.unwrap_or(0.0)
    }
}

/// The two-sided Student-t quantile for `level` (e.g. 0.95) with `df`
/// degrees of freedom.
pub fn t_quantile(level: f64, df: usize) -> f64 {
    let df = df.max(1) as f64;
    StudentsT::new(0.0, 1.0, df)
        .map(|t| t.inverse_cdf(0.5 + level / 2.0))
        .unwrap_or(f64::NAN)
}

/// Mean and Student-t confidence interval of independent samples (for
/// example one value per replication).
pub fn confidence_interval(samples: &[f64], level: f64) -> Estimate {
    let n = samples.len();
    if n == 0 {
        return Estimate {
            mean: f64::NAN,
            half_width: None,
            std_dev: None,
            n,
        };
    }
    let mean = samples.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Estimate {
            mean,
            half_width: None,
            std_dev: None,
            n,
        };
    }
    let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    Estimate {
        mean,
        half_width: Some(t_quantile(level, n - 1) * sd / (n as f64).sqrt()),
        std_dev: Some(sd),
        n,
    }
}

/// Batch means for a confidence interval from one long run: consecutive
/// observations are grouped into batches whose means are close to
/// independent. Memory is bounded: when `max_batches` batches are full,
/// neighbours merge and the batch size doubles.
#[derive(Clone, Debug)]
pub struct BatchMeans {
    batch_size: u64,
    current_sum: f64,
    current_n: u64,
    means: Vec<f64>,
    max_batches: usize,
}

impl BatchMeans {
    /// Starts with batches of `initial_batch_size` observations and keeps at
    /// most `max_batches` (rounded up to an even number, at least 4).
    pub fn new(initial_batch_size: u64, max_batches: usize) -> Self {
        BatchMeans {
            batch_size: initial_batch_size.max(1),
            current_sum: 0.0,
            current_n: 0,
            means: Vec::new(),
            max_batches: max_batches.max(4).next_multiple_of(2),
        }
    }

    /// Adds one observation.
    pub fn add(&mut self, x: f64) {
        self.current_sum += x;
        self.current_n += 1;
        if self.current_n == self.batch_size {
            self.means.push(self.current_sum / self.batch_size as f64);
            self.current_sum = 0.0;
            self.current_n = 0;
            if self.means.len() == self.max_batches {
                self.means = self.means.chunks(2).map(|c| (c[0] + c[1]) / 2.0).collect();
                self.batch_size *= 2;
            }
        }
    }

    /// The batches kept.
    pub fn batches(&self) -> usize {
        self.means.len()
    }

    /// Observations per batch.
    pub fn batch_size(&self) -> u64 {
        self.batch_size
    }

    /// Interval from the completed batches (the partial batch is ignored).
    pub fn estimate(&self, level: f64) -> Estimate {
        confidence_interval(&self.means, level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seeds;

    #[test]
    fn t_quantiles_match_tables() {
        assert!((t_quantile(0.95, 1) - 12.706).abs() < 1e-3);
        assert!((t_quantile(0.95, 9) - 2.262).abs() < 1e-3);
        assert!((t_quantile(0.99, 30) - 2.750).abs() < 1e-3);
        assert!((t_quantile(0.95, 100_000) - 1.960).abs() < 1e-3);
    }

    #[test]
    fn interval_of_known_samples() {
        let e = confidence_interval(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95);
        assert_eq!(e.mean, 3.0);
        let sd = 2.5f64.sqrt();
        assert!((e.std_dev.unwrap() - sd).abs() < 1e-12);
        assert!((e.half_width.unwrap() - 2.776 * sd / 5f64.sqrt()).abs() < 1e-3);
        assert!(e.contains(4.9) && !e.contains(5.0));
        assert_eq!(confidence_interval(&[2.0], 0.95).half_width, None);
    }

    /// About 95% of 95% intervals over iid normal samples cover the truth.
    #[test]
    fn coverage_is_close_to_nominal() {
        let mut rng = Seeds::new(5).stream("cov");
        let trials = 2000;
        let mut covered = 0;
        for _ in 0..trials {
            let xs: Vec<f64> = (0..10).map(|_| rng.exponential(1.0)).collect();
            if confidence_interval(&xs, 0.95).contains(1.0) {
                covered += 1;
            }
        }
        let rate = covered as f64 / trials as f64;
        // Exponential samples are skewed, so coverage runs a little low.
        assert!((0.88..0.97).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn batch_means_bound_memory_and_estimate_the_mean() {
        let mut bm = BatchMeans::new(10, 8);
        let mut rng = Seeds::new(9).stream("bm");
        for _ in 0..100_000 {
            bm.add(rng.exponential(2.0));
        }
        assert!(bm.batches() < 8);
        assert!(bm.batch_size() > 10);
        let e = bm.estimate(0.99);
        assert!(e.contains(2.0), "{e:?}");
    }
}
