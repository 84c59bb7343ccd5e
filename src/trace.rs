//! `BOCKER_TRACE=FILE`: where a start spends its time. Each phase is
//! appended to FILE as `PID MS CPU RUNQ PHASE`: MS counted from the CLI's own start
//! (carried to the monitor and the init in `BOCKER_TRACE_T0`, nanoseconds
//! of the wall clock), so the lines of all three processes make one timeline; CPU is the
//! time this process has run so far (user + system, ms): on a loaded machine
//! the wall clock measures the scheduler, CPU measures bocker; RUNQ is the
//! time it waited for a CPU, so MS - CPU - RUNQ is time blocked (I/O, a
//! child, the kernel).
//! Off (one env lookup, once per process) when the variable is unset.
use std::io::Write;
use std::sync::OnceLock;

struct Tracer {
    file: std::fs::File,
    t0: u128,
}

static TRACER: OnceLock<Option<Tracer>> = OnceLock::new();

/// Wall-clock nanoseconds: comparable across processes (a trace is short
/// enough that a clock step is unlikely to land in one).
fn now_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

fn tracer() -> Option<&'static Tracer> {
    TRACER
        .get_or_init(|| {
            let path = std::env::var_os("BOCKER_TRACE")?;
            let t0 = match std::env::var("BOCKER_TRACE_T0").ok().and_then(|v| v.parse().ok()) {
                Some(t) => t,
                None => {
                    let t = now_ns();
                    // the first process of the timeline (the CLI, single-threaded here)
                    std::env::set_var("BOCKER_TRACE_T0", t.to_string());
                    t
                }
            };
            // close-on-exec (std's default): the container's process never holds it
            let file = std::fs::OpenOptions::new().create(true).append(true).open(path).ok()?;
            Some(Tracer { file, t0 })
        })
        .as_ref()
}

/// CPU time this process has used so far (user + system), in ms.
fn cpu_ms() -> f64 {
    use nix::time::{clock_gettime, ClockId};
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).map(|t| t.tv_sec() as f64 * 1e3 + t.tv_nsec() as f64 / 1e6).unwrap_or(0.0)
}

/// Time this process has waited on a run queue so far (runnable, not
/// running: the load of the machine), in ms; 0 without schedstats.
fn runq_ms() -> f64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    text.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()).map(|ns| ns / 1e6).unwrap_or(0.0)
}

/// Appends one phase to the trace (a single write: lines of several
/// processes do not interleave). A process's first mark starts the
/// timeline or joins the one of the process that started it: make it
/// before any thread exists.
pub fn mark(phase: &str) {
    if let Some(t) = tracer() {
        let ms = now_ns().saturating_sub(t.t0) as f64 / 1e6;
        let line = format!("{:>7} {ms:>9.3} {:>8.3} {:>8.3} {phase}\n", std::process::id(), cpu_ms(), runq_ms());
        let _ = (&t.file).write_all(line.as_bytes());
    }
}
