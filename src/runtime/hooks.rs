//! OCI hooks (config.md "POSIX-platform Hooks"): each hook's program run
//! with its args and env, the container's state as JSON on its stdin,
//! killed after its timeout. A hook that fails fails the step it belongs
//! to (except poststart/poststop, whose failures are warnings: the
//! caller decides).
use crate::runtime::oci_state::OciState;
use oci_spec::runtime::Hook;
use std::time::{Duration, Instant};

/// Runs `hooks` in order; the first failure stops and is returned.
pub fn run_all(hooks: &[Hook], state: &OciState) -> Result<(), String> {
    for h in hooks {
        run_one(h, state)?;
    }
    Ok(())
}

fn run_one(hook: &Hook, state: &OciState) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let path = hook.path();
    let name = path.display().to_string();
    let mut cmd = std::process::Command::new(path);
    if let Some(args) = hook.args() {
        if let Some((argv0, rest)) = args.split_first() {
            cmd.arg0(argv0).args(rest);
        }
    }
    cmd.env_clear();
    for kv in hook.env().as_deref().unwrap_or_default() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(std::process::Stdio::piped());
    let json = serde_json::to_vec(state).map_err(|e| e.to_string())?;
    let mut child = cmd.spawn().map_err(|e| format!("{name}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // a hook that does not read its stdin is not an error
        let _ = stdin.write_all(&json);
    }
    let deadline = hook.timeout().filter(|t| *t > 0).map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        match child.try_wait().map_err(|e| format!("{name}: {e}"))? {
            Some(st) => break st,
            None => {}
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{name}: timed out after {}s", hook.timeout().unwrap_or(0)));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    if !status.success() {
        return Err(format!("{name}: {status}"));
    }
    Ok(())
}
