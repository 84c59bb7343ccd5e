//! The monitor's health checker: a thread that, while the container
//! runs, probes it at the check's interval through the exec helper
//! (`runtime::exec::probe`) and keeps `State.Health` in state.json (the
//! status, the failing streak, the last results), recording a
//! `health_status` event when the status changes. It is stopped and
//! joined before the monitor saves the exit or clones a new init, so the
//! monitor is single-threaded whenever it forks.
use crate::state::containers::ContainerRecord;
use crate::state::images::Healthcheck;
use crate::state::supervision::{Health, HealthResult, HEALTH_INTERVAL, HEALTH_OUTPUT_MAX, HEALTH_RETRIES, HEALTH_TIMEOUT};
use crate::state::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Checker {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

/// What a record's health check resolves to: the probe's argv and
/// Docker's defaults for the times and retries.
struct Check {
    args: Vec<String>,
    interval: Duration,
    timeout: Duration,
    start_period: Duration,
    retries: u32,
}

fn nanos(v: Option<i64>, default: Duration) -> Duration {
    match v {
        Some(n) if n > 0 => Duration::from_nanos(n as u64),
        _ => default,
    }
}

fn check_of(hc: &Healthcheck) -> Option<Check> {
    let args = match hc.test.first().map(String::as_str) {
        Some("CMD") => hc.test[1..].to_vec(),
        Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), hc.test[1..].join(" ")],
        _ => return None, // NONE, or nothing to run
    };
    if args.is_empty() {
        return None;
    }
    Some(Check {
        args,
        interval: nanos(hc.interval, HEALTH_INTERVAL),
        timeout: nanos(hc.timeout, HEALTH_TIMEOUT),
        start_period: nanos(hc.start_period, Duration::ZERO),
        retries: hc.retries.filter(|r| *r > 0).map(|r| r as u32).unwrap_or(HEALTH_RETRIES),
    })
}

/// A run's health before its first probe: starting, if it has a check.
pub fn initial(c: &ContainerRecord) -> Option<Health> {
    check_of(c.healthcheck.as_ref()?).map(|_| Health::default())
}

impl Checker {
    /// Starts checking `c` if it has a health check (its state, saved as
    /// running, says starting: `initial`).
    pub fn start(store: &Store, c: &ContainerRecord) -> Option<Checker> {
        let check = check_of(c.healthcheck.as_ref()?)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (store, c, flag) = (store.clone(), c.clone(), stop.clone());
        let thread = std::thread::Builder::new().name("health".into()).spawn(move || run(&store, &c, &check, &flag)).ok()?;
        Some(Checker { stop, thread })
    }

    /// Stops the checks (a probe under way is awaited) and joins.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
    }
}

fn save(store: &Store, id: &str, health: &Health) {
    if let Ok(mut st) = store.load_state(id) {
        st.health = Some(health.clone());
        let _ = store.save_state(id, &st);
    }
}

/// Sleeps `d` unless stopped first; false when stopped.
fn pause(d: Duration, stop: &AtomicBool) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(25)));
    }
    !stop.load(Ordering::SeqCst)
}

fn run(store: &Store, c: &ContainerRecord, check: &Check, stop: &AtomicBool) {
    let started = Instant::now();
    let mut health = Health::default();
    while pause(check.interval, stop) {
        if crate::cgroup::ContainerCgroup::load(&c.id).is_frozen() {
            continue; // paused: a probe would freeze with it
        }
        let start = crate::state::now();
        let probed = crate::runtime::exec::probe(store, &c.id, &check.args, check.timeout, HEALTH_OUTPUT_MAX);
        if stop.load(Ordering::SeqCst) {
            break; // the container is exiting: its last probe says nothing
        }
        let (exit_code, output) = match probed {
            Ok(Some(r)) => r,
            Ok(None) => (-1, format!("Health check exceeded timeout ({:?})", check.timeout)),
            Err(e) => (-1, e.to_string()),
        };
        let result = HealthResult { start, end: crate::state::now(), exit_code, output };
        let changed = health.record(result, check.retries, started.elapsed() < check.start_period);
        save(store, &c.id, &health);
        if let Some(status) = changed {
            crate::container::events::emit(store, c, &format!("health_status: {}", status.as_str()), &[]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_resolve_with_dockers_defaults() {
        let hc = Healthcheck { test: vec!["CMD-SHELL".into(), "test -f /x".into()], interval: Some(500_000_000), ..Default::default() };
        let c = check_of(&hc).unwrap();
        assert_eq!(c.args, vec!["/bin/sh", "-c", "test -f /x"]);
        assert_eq!((c.interval, c.timeout, c.retries), (Duration::from_millis(500), HEALTH_TIMEOUT, HEALTH_RETRIES));
        let exec = Healthcheck { test: vec!["CMD".into(), "true".into()], retries: Some(1), ..Default::default() };
        assert_eq!(check_of(&exec).unwrap().args, vec!["true"]);
        assert!(check_of(&Healthcheck { test: vec!["NONE".into()], ..Default::default() }).is_none());
    }
}
