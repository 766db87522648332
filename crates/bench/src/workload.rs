//! What to run: operations, sizes, durations and the mixed-workload weights.

use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Op {
    Put,
    Get,
    Head,
    Delete,
    List,
    MultipartPut,
    Mixed,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get => "get",
            Op::Head => "head",
            Op::Delete => "delete",
            Op::List => "list",
            Op::MultipartPut => "multipart",
            Op::Mixed => "mixed",
        }
    }

    /// Whether the operation needs objects to exist before it runs.
    pub fn needs_prefill(self) -> bool {
        matches!(self, Op::Get | Op::Head | Op::Delete | Op::List | Op::Mixed)
    }
}

/// A byte size with binary suffixes: `4KiB`, `64MiB`, `1GiB`, `4096`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("bad size {s:?}"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => 1 << 10,
        "m" | "mib" | "mb" => 1 << 20,
        "g" | "gib" | "gb" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large"))
}

/// A fixed size or a uniform range `MIN-MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRange {
    pub min: u64,
    pub max: u64,
}

impl FromStr for SizeRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (min, max) = match s.split_once('-') {
            Some((a, b)) => (parse_size(a)?, parse_size(b)?),
            None => {
                let v = parse_size(s)?;
                (v, v)
            }
        };
        if min > max {
            return Err(format!("size range {s:?} has MIN > MAX"));
        }
        Ok(Self { min, max })
    }
}

/// `10s`, `500ms`, `2m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        other => Err(format!("unknown duration unit {other:?}")),
    }
}

/// Weights of the mixed workload, e.g. `get:45,head:30,put:15,delete:10`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix(pub Vec<(Op, u32)>);

impl FromStr for Mix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut v = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (name, w) = part
                .split_once(':')
                .ok_or_else(|| format!("expected OP:WEIGHT in {part:?}"))?;
            let op = match name.trim() {
                "put" => Op::Put,
                "get" => Op::Get,
                "head" | "stat" => Op::Head,
                "delete" => Op::Delete,
                "list" => Op::List,
                other => return Err(format!("operation {other:?} cannot be mixed")),
            };
            let w: u32 = w
                .trim()
                .parse()
                .map_err(|_| format!("bad weight in {part:?}"))?;
            v.push((op, w));
        }
        if v.iter().map(|(_, w)| w).sum::<u32>() == 0 {
            return Err("the mix needs a positive weight".into());
        }
        Ok(Mix(v))
    }
}

impl Mix {
    /// The operation for a number drawn uniformly from `0..total()`.
    pub fn pick(&self, mut n: u32) -> Op {
        for (op, w) in &self.0 {
            if n < *w {
                return *op;
            }
            n -= w;
        }
        self.0[0].0
    }

    pub fn total(&self) -> u32 {
        self.0.iter().map(|(_, w)| w).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("4KiB").unwrap(), 4096);
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("4XB").is_err());
        assert_eq!(
            "1KiB-1MiB".parse::<SizeRange>().unwrap(),
            SizeRange {
                min: 1024,
                max: 1 << 20
            }
        );
        assert!("2MiB-1MiB".parse::<SizeRange>().is_err());
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
    }

    #[test]
    fn mix_picks_by_weight() {
        let m: Mix = "get:2,put:1".parse().unwrap();
        assert_eq!(m.total(), 3);
        assert_eq!(
            [m.pick(0), m.pick(1), m.pick(2)],
            [Op::Get, Op::Get, Op::Put]
        );
        assert!("get:0".parse::<Mix>().is_err());
        assert!("multipart:1".parse::<Mix>().is_err());
    }
}
