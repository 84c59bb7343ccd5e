//! What supervision keeps in a container's records: the restart policy
//! and its backoff (Docker's restart manager), the health of the last
//! checks (Docker's `State.Health`), and the marker a user's stop/kill
//! leaves so the monitor does not bring the container back.
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `--restart`: when the monitor runs the container's process again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    #[default]
    No,
    /// on a non-zero exit, at most N restarts (None: no limit)
    OnFailure(Option<u32>),
    Always,
    UnlessStopped,
}

impl std::str::FromStr for RestartPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, count) = match s.split_once(':') {
            Some((n, c)) => (n, Some(c)),
            None => (s, None),
        };
        let policy = match name {
            "" | "no" => RestartPolicy::No,
            "always" => RestartPolicy::Always,
            "unless-stopped" => RestartPolicy::UnlessStopped,
            "on-failure" => {
                let max = match count {
                    None => None,
                    Some(c) => Some(c.parse::<u32>().map_err(|_| format!("invalid restart policy: maximum retry count must be a number: {s}"))?),
                };
                return Ok(RestartPolicy::OnFailure(max.filter(|n| *n > 0)));
            }
            _ => return Err(format!("invalid restart policy '{s}' (no, on-failure[:N], always or unless-stopped)")),
        };
        if count.is_some() {
            return Err(format!("invalid restart policy: maximum retry count cannot be used with restart policy '{name}'"));
        }
        Ok(policy)
    }
}

impl std::fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::OnFailure(None) => f.write_str("on-failure"),
            RestartPolicy::OnFailure(Some(n)) => write!(f, "on-failure:{n}"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

impl Serialize for RestartPolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RestartPolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl RestartPolicy {
    pub fn is_no(&self) -> bool {
        *self == RestartPolicy::No
    }

    /// Whether the monitor runs the process again after it exited with
    /// `exit_code`, having restarted it `restarts` times already. A stop
    /// or kill by the user is never followed by a restart.
    pub fn should_restart(&self, exit_code: i32, restarts: u32, user_stopped: bool) -> bool {
        if user_stopped {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure(max) => exit_code != 0 && max.is_none_or(|m| restarts < m),
        }
    }

    /// Whether `start --restartable` (a host's boot) brings the container
    /// back: `always`, and `unless-stopped` unless the user stopped it.
    pub fn starts_at_boot(&self, user_stopped: bool) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::UnlessStopped => !user_stopped,
            _ => false,
        }
    }
}

/// Docker's restart delay: 100 ms, doubled at each restart up to a
/// minute; back to 100 ms once a run lasted 10 s.
#[derive(Debug, Default)]
pub struct Backoff {
    last: Option<Duration>,
}

pub const BACKOFF_FIRST: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
pub const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(10);

impl Backoff {
    /// The wait before the next run, given how long the last one was up.
    pub fn next(&mut self, uptime: Duration) -> Duration {
        let d = match self.last {
            Some(prev) if uptime < BACKOFF_RESET_AFTER => (prev * 2).min(BACKOFF_MAX),
            _ => BACKOFF_FIRST,
        };
        self.last = Some(d);
        d
    }
}

/// `State.Health.Status`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    #[default]
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// One probe: as Docker's `State.Health.Log[]` (times in seconds).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct HealthResult {
    pub start: f64,
    pub end: f64,
    pub exit_code: i32,
    pub output: String,
}

/// How many results `State.Health.Log` keeps, and how much of a probe's
/// output (as Docker).
pub const HEALTH_LOG_LEN: usize = 5;
pub const HEALTH_OUTPUT_MAX: usize = 4096;

/// `State.Health`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Health {
    pub status: HealthStatus,
    pub failing_streak: u32,
    #[serde(default)]
    pub log: Vec<HealthResult>,
}

impl Health {
    /// Records a probe's result, as Docker does: a success makes the
    /// container healthy; a failure inside the start period does not
    /// count; `retries` failures in a row make it unhealthy. Returns the
    /// status when it changed.
    pub fn record(&mut self, mut result: HealthResult, retries: u32, in_start_period: bool) -> Option<HealthStatus> {
        let before = self.status;
        if result.output.len() > HEALTH_OUTPUT_MAX {
            let mut cut = HEALTH_OUTPUT_MAX;
            while !result.output.is_char_boundary(cut) {
                cut -= 1;
            }
            result.output.truncate(cut);
        }
        if result.exit_code == 0 {
            self.status = HealthStatus::Healthy;
            self.failing_streak = 0;
        } else if !in_start_period || self.status != HealthStatus::Starting {
            self.failing_streak += 1;
            if self.failing_streak >= retries.max(1) {
                self.status = HealthStatus::Unhealthy;
            }
        }
        self.log.push(result);
        if self.log.len() > HEALTH_LOG_LEN {
            let extra = self.log.len() - HEALTH_LOG_LEN;
            self.log.drain(..extra);
        }
        (self.status != before).then_some(self.status)
    }
}

/// Docker's defaults for a health check's unset fields.
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(30);
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
pub const HEALTH_RETRIES: u32 = 3;

/// The file a user's `stop`/`kill` leaves in the container's folder
/// before signalling (a file, not a field of state.json: the monitor
/// rewrites that one); `start` by the user removes it.
pub const USER_STOPPED: &str = ".user-stopped";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_parse_and_print() {
        for s in ["no", "always", "unless-stopped", "on-failure", "on-failure:3"] {
            assert_eq!(s.parse::<RestartPolicy>().unwrap().to_string(), s);
        }
        assert_eq!("".parse::<RestartPolicy>().unwrap(), RestartPolicy::No);
        assert_eq!("on-failure:0".parse::<RestartPolicy>().unwrap(), RestartPolicy::OnFailure(None));
        assert!("on-failure:x".parse::<RestartPolicy>().is_err());
        assert!("always:3".parse::<RestartPolicy>().is_err());
        assert!("sometimes".parse::<RestartPolicy>().is_err());
        let j = serde_json::to_string(&RestartPolicy::OnFailure(Some(2))).unwrap();
        assert_eq!(j, "\"on-failure:2\"");
        assert_eq!(serde_json::from_str::<RestartPolicy>(&j).unwrap(), RestartPolicy::OnFailure(Some(2)));
    }

    #[test]
    fn restart_decisions() {
        let of3 = RestartPolicy::OnFailure(Some(3));
        // a failing command runs 1 + 3 times
        let runs = (0..10).take_while(|&n| n == 0 || of3.should_restart(1, n - 1, false)).count();
        assert_eq!(runs, 4);
        assert!(!of3.should_restart(0, 0, false));
        assert!(RestartPolicy::Always.should_restart(0, 1000, false));
        assert!(!RestartPolicy::Always.should_restart(1, 0, true));
        assert!(!RestartPolicy::No.should_restart(1, 0, false));
        assert!(RestartPolicy::Always.starts_at_boot(true));
        assert!(!RestartPolicy::UnlessStopped.starts_at_boot(true));
        assert!(RestartPolicy::UnlessStopped.starts_at_boot(false));
        assert!(!of3.starts_at_boot(false));
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut b = Backoff::default();
        let quick = Duration::from_millis(50);
        let ms: Vec<u128> = (0..4).map(|_| b.next(quick).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800]);
        for _ in 0..20 {
            b.next(quick);
        }
        assert_eq!(b.next(quick), BACKOFF_MAX);
        assert_eq!(b.next(Duration::from_secs(10)), BACKOFF_FIRST);
        assert_eq!(b.next(quick), Duration::from_millis(200));
    }

    fn probe(code: i32) -> HealthResult {
        HealthResult { start: 1.0, end: 2.0, exit_code: code, output: "x".repeat(5000) }
    }

    #[test]
    fn health_goes_starting_healthy_unhealthy() {
        let mut h = Health::default();
        assert_eq!(h.record(probe(1), 2, true), None, "a failure in the start period does not count");
        assert_eq!(h.failing_streak, 0);
        assert_eq!(h.record(probe(0), 2, true), Some(HealthStatus::Healthy));
        assert_eq!(h.record(probe(1), 2, false), None);
        assert_eq!(h.failing_streak, 1);
        assert_eq!(h.record(probe(1), 2, false), Some(HealthStatus::Unhealthy));
        for _ in 0..5 {
            h.record(probe(1), 2, false);
        }
        assert_eq!(h.log.len(), HEALTH_LOG_LEN);
        assert_eq!(h.log[0].output.len(), HEALTH_OUTPUT_MAX);
        // after healthy, a failure in the start period counts
        let mut h = Health { status: HealthStatus::Healthy, ..Default::default() };
        h.record(probe(1), 1, true);
        assert_eq!(h.status, HealthStatus::Unhealthy);
    }
}
