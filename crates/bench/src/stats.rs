//! Per-operation counters and latency histograms; a live progress line; the final table/JSON.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

/// Live totals shared by all workers (for the progress line).
#[derive(Default)]
pub struct Live {
    pub ops: AtomicU64,
    pub bytes: AtomicU64,
    pub errors: AtomicU64,
}

impl Live {
    pub fn record(&self, bytes: u64, ok: bool) {
        self.ops.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One worker's (or the merged) results for one operation.
pub struct OpStats {
    pub ops: u64,
    pub errors: u64,
    pub bytes: u64,
    /// Latency in microseconds.
    pub hist: Histogram<u64>,
    pub first_error: Option<String>,
}

impl Default for OpStats {
    fn default() -> Self {
        Self {
            ops: 0,
            errors: 0,
            bytes: 0,
            hist: Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds"),
            first_error: None,
        }
    }
}

impl OpStats {
    pub fn record(&mut self, latency: Duration, bytes: u64, error: Option<String>) {
        self.ops += 1;
        self.bytes += bytes;
        let _ = self
            .hist
            .record((latency.as_micros() as u64).clamp(1, 600_000_000));
        if let Some(e) = error {
            self.errors += 1;
            self.first_error.get_or_insert(e);
        }
    }

    pub fn merge(&mut self, other: &OpStats) {
        self.ops += other.ops;
        self.errors += other.errors;
        self.bytes += other.bytes;
        let _ = self.hist.add(&other.hist);
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }
}

pub type Results = BTreeMap<&'static str, OpStats>;

pub fn merge_into(total: &mut Results, part: Results) {
    for (k, v) in part {
        total.entry(k).or_default().merge(&v);
    }
}

fn ms(us: u64) -> String {
    format!("{:.2}ms", us as f64 / 1000.0)
}

pub struct Summary<'a> {
    pub results: &'a Results,
    pub elapsed: Duration,
    pub concurrency: usize,
    pub client_cpu_us_per_op: Option<f64>,
    pub server_cpu_us_per_op: Option<f64>,
    pub server_rss_mib: Option<f64>,
}

impl Summary<'_> {
    pub fn table(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let mut out = format!(
            "{:<10} {:>9} {:>11} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7}\n",
            "op", "ops", "ops/s", "MiB/s", "p50", "p90", "p99", "max", "errors"
        );
        for (op, s) in self.results {
            out += &format!(
                "{:<10} {:>9} {:>11.1} {:>10.1} {:>9} {:>9} {:>9} {:>9} {:>7}\n",
                op,
                s.ops,
                s.ops as f64 / secs,
                s.bytes as f64 / secs / 1048576.0,
                ms(s.hist.value_at_quantile(0.5)),
                ms(s.hist.value_at_quantile(0.9)),
                ms(s.hist.value_at_quantile(0.99)),
                ms(s.hist.max()),
                s.errors
            );
        }
        out += &format!("elapsed {:.2}s, concurrency {}", secs, self.concurrency);
        if let Some(c) = self.client_cpu_us_per_op {
            out += &format!(", client CPU {c:.1} µs/op");
        }
        if let Some(c) = self.server_cpu_us_per_op {
            out += &format!(", server CPU {c:.1} µs/op");
        }
        if let Some(r) = self.server_rss_mib {
            out += &format!(", server peak RSS {r:.0} MiB");
        }
        for (op, s) in self.results {
            if let Some(e) = &s.first_error {
                out += &format!("\nfirst {op} error: {e}");
            }
        }
        out
    }

    pub fn json(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.3}"));
        let ops: Vec<String> = self
            .results
            .iter()
            .map(|(op, s)| {
                format!(
                    "\"{op}\":{{\"ops\":{},\"errors\":{},\"bytes\":{},\"ops_per_sec\":{:.3},\"mib_per_sec\":{:.3},\"p50_ms\":{:.3},\"p90_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
                    s.ops,
                    s.errors,
                    s.bytes,
                    s.ops as f64 / secs,
                    s.bytes as f64 / secs / 1048576.0,
                    s.hist.value_at_quantile(0.5) as f64 / 1000.0,
                    s.hist.value_at_quantile(0.9) as f64 / 1000.0,
                    s.hist.value_at_quantile(0.99) as f64 / 1000.0,
                    s.hist.max() as f64 / 1000.0
                )
            })
            .collect();
        format!(
            "{{\"elapsed_s\":{secs:.3},\"concurrency\":{},\"client_cpu_us_per_op\":{},\"server_cpu_us_per_op\":{},\"server_peak_rss_mib\":{},\"ops\":{{{}}}}}",
            self.concurrency,
            opt(self.client_cpu_us_per_op),
            opt(self.server_cpu_us_per_op),
            opt(self.server_rss_mib),
            ops.join(",")
        )
    }
}

/// CPU time (user + system) of a process, from /proc (Linux).
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

/// Peak resident set size of a process in MiB (VmHWM).
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
