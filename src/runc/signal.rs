//! Signals as `runc kill` takes them: a number, or a name with or
//! without `SIG`, any case (`9`, `KILL`, `sigterm`).
use anyhow::{bail, Result};
use nix::sys::signal::Signal;
use std::str::FromStr;

pub fn parse(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return match Signal::try_from(n) {
            Ok(sig) => Ok(sig),
            Err(_) => bail!("unknown signal {s:?}"),
        };
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    match Signal::from_str(&name) {
        Ok(sig) => Ok(sig),
        Err(_) => bail!("unknown signal {s:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names() {
        assert_eq!(parse("9").expect("9"), Signal::SIGKILL);
        assert_eq!(parse("KILL").expect("KILL"), Signal::SIGKILL);
        assert_eq!(parse("sigterm").expect("sigterm"), Signal::SIGTERM);
        assert_eq!(parse("SIGUSR1").expect("SIGUSR1"), Signal::SIGUSR1);
        for bad in ["0", "99", "NOPE", "", "-1"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
