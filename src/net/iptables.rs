//! Thin wrapper around the `iptables` binary (nf_tables backend).
//!
//! Every rule bocker adds carries `-m comment --comment TAG` so it can be
//! found and deleted again from `iptables -S` output. Check-then-add sequences
//! run under an flock (`/run/bocker/iptables.lock`) so two concurrent
//! `bocker run` never add the same rule twice.

use super::error::{NetError, Result};
use std::fs;
use std::process::Command;

const IPTABLES: &str = "iptables";
const LOCK_DIR: &str = "/run/bocker";
const LOCK_FILE: &str = "/run/bocker/iptables.lock";

/// Whether `iptables` on PATH is the nf_tables variant (whose rules the
/// ruleset generation of `ruleset_gen` covers); the legacy one is not.
pub fn is_nft_backend() -> bool {
    let Some(path) = std::env::var_os("PATH") else { return false };
    std::env::split_paths(&path)
        .map(|d| d.join(IPTABLES))
        .find(|p| p.exists())
        .and_then(|p| fs::canonicalize(p).ok())
        .is_some_and(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains("nft")))
}

/// Runs `iptables -w ARGS`; Ok(stdout) on exit 0.
pub fn run(args: &[&str]) -> Result<String> {
    let out = Command::new(IPTABLES)
        .arg("-w")
        .args(args)
        .output()
        .map_err(|e| NetError::io(format!("running {IPTABLES}"), e))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(NetError::Iptables {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// `iptables -C` – does the rule exist?
pub fn exists(table: &str, chain: &str, rule: &[&str]) -> Result<bool> {
    let mut a = vec!["-t", table, "-C", chain];
    a.extend_from_slice(rule);
    let out = Command::new(IPTABLES)
        .arg("-w")
        .args(&a)
        .output()
        .map_err(|e| NetError::io(format!("running {IPTABLES}"), e))?;
    match out.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(NetError::Iptables {
            args: a.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }),
    }
}

/// Where a rule goes when it is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pos {
    Append,
    Insert,
}

/// Adds the rule unless it exists (caller should hold [`lock`]).
pub fn ensure(table: &str, chain: &str, pos: Pos, rule: &[&str]) -> Result<()> {
    if exists(table, chain, rule)? {
        return Ok(());
    }
    let op = if pos == Pos::Insert { "-I" } else { "-A" };
    let mut a = vec!["-t", table, op, chain];
    a.extend_from_slice(rule);
    run(&a).map(|_| ())
}

/// Deletes every copy of one rule by its spec (not found: done). Unlike
/// `delete_tagged` it does not depend on a listing, which iptables-nft
/// was seen to give without a rule that was there.
pub fn delete_spec(table: &str, chain: &str, rule: &[&str]) -> Result<usize> {
    let mut n = 0;
    for _ in 0..4 {
        let mut a = vec!["-t", table, "-D", chain];
        a.extend_from_slice(rule);
        match run(&a) {
            Ok(_) => n += 1,
            Err(NetError::Iptables { stderr, .. }) if stderr.contains("does a matching rule exist") || stderr.contains("No chain/target/match") => break,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Exclusive process-wide lock for check-then-add sequences.
pub struct Lock(#[allow(dead_code)] fs::File);

/// Takes the lock (blocking).
pub fn lock() -> Result<Lock> {
    fs::create_dir_all(LOCK_DIR).map_err(|e| NetError::io(format!("creating {LOCK_DIR}"), e))?;
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK_FILE)
        .map_err(|e| NetError::io(format!("opening {LOCK_FILE}"), e))?;
    loop {
        let Err(e) = crate::sys::fs::flock(&f, libc::LOCK_EX) else {
            return Ok(Lock(f));
        };
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(NetError::io(format!("locking {LOCK_FILE}"), e));
        }
    }
}

/// Splits one line of `iptables -S` output into arguments (handles "..." quoting).
pub fn split_rule(line: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut in_q = false;
    let mut have = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_q = !in_q;
                have = true;
            }
            '\\' if in_q => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() && !in_q => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                cur.push(c);
                have = true;
            }
        }
    }
    if have {
        out.push(cur);
    }
    out
}

/// Rules of `table` (as `-A CHAIN ...` arg vectors) whose comment equals `tag`.
pub fn tagged_rules(table: &str, tag: &str) -> Result<Vec<Vec<String>>> {
    let s = run(&["-t", table, "-S"])?;
    Ok(s.lines()
        .filter(|l| l.starts_with("-A "))
        .map(split_rule)
        .filter(|a| a.windows(2).any(|w| w[0] == "--comment" && w[1] == tag))
        .collect())
}

/// Counts rules tagged `tag` in all tables with a single `iptables-save` call
/// (the cheap check on the hot path).
pub fn count_tagged_all(tag: &str) -> Result<usize> {
    let out = Command::new("iptables-save")
        .output()
        .map_err(|e| NetError::io("running iptables-save", e))?;
    if !out.status.success() {
        return Err(NetError::Iptables {
            args: "(iptables-save)".into(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let needle = format!("--comment \"{tag}\"");
    let s = String::from_utf8_lossy(&out.stdout);
    Ok(s.lines().filter(|l| l.starts_with("-A ") && l.contains(&needle)).count())
}

/// Deletes every rule of `table` tagged `tag`; returns how many were deleted.
/// A rule that vanished meanwhile is not an error.
pub fn delete_tagged(table: &str, tag: &str) -> Result<usize> {
    // every rule is tried; the first error is returned after the rest
    let mut n = 0;
    let mut first_err = None;
    for mut rule in tagged_rules(table, tag)? {
        rule[0] = "-D".into();
        let mut a: Vec<&str> = vec!["-t", table];
        a.extend(rule.iter().map(String::as_str));
        match run(&a) {
            Ok(_) => n += 1,
            Err(NetError::Iptables { stderr, .. }) if stderr.contains("does a matching rule exist") || stderr.contains("No chain/target/match") => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn split() {
        let v = split_rule(r#"-A POSTROUTING -s 10.9.9.0/24 ! -o xx -m comment --comment "bocker-br:xx" -j MASQUERADE"#);
        assert_eq!(v[0], "-A");
        assert_eq!(v[4], "!");
        assert_eq!(v[10], "bocker-br:xx");
        assert_eq!(v.len(), 13);
        assert_eq!(split_rule(r#"--comment "a b" x"#), ["--comment", "a b", "x"]);
        assert_eq!(split_rule(r#"--comment """#), ["--comment", ""]);
    }
}
