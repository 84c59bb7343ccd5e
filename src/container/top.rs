//! `docker top`: the host's `ps` (with the caller's options, `-ef` by
//! default, as Docker runs it), keeping the rows whose PID is in the
//! container's cgroup. The options are passed as argv, never to a shell.
use super::{ContainerError, Result};
use crate::cgroup::ContainerCgroup;
use crate::state::Store;

/// The answer of GET /containers/{id}/top.
#[derive(serde::Serialize, Debug, Clone, PartialEq)]
pub struct Top {
    #[serde(rename = "Titles")]
    pub titles: Vec<String>,
    #[serde(rename = "Processes")]
    pub processes: Vec<Vec<String>>,
}

/// Longest `ps` output read (a host with very many processes).
const MAX_PS_OUTPUT: usize = 16 << 20;

pub fn top(store: &Store, reference: &str, ps_args: &[String]) -> Result<Top> {
    let info = super::inspect(store, reference)?;
    if !info.running {
        return Err(ContainerError::Conflict(format!("Container {} is not running", info.record.id)));
    }
    let pids = ContainerCgroup::load(&info.record.id).processes();
    let mut cmd = std::process::Command::new("ps");
    if ps_args.is_empty() {
        cmd.arg("-ef");
    } else {
        cmd.args(ps_args);
    }
    let out = cmd.stdin(std::process::Stdio::null()).output().map_err(|e| ContainerError::Invalid(format!("running ps: {e}")))?;
    if !out.status.success() {
        return Err(ContainerError::Invalid(format!("ps: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    if out.stdout.len() > MAX_PS_OUTPUT {
        return Err(ContainerError::Invalid("ps: output too large".into()));
    }
    parse(&String::from_utf8_lossy(&out.stdout), &pids)
}

/// Splits `ps` output: titles from the header, each row into as many
/// fields as titles (the last, the command, keeps its spaces); only rows
/// whose PID column is one of `pids`.
pub fn parse(text: &str, pids: &[u64]) -> Result<Top> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let titles: Vec<String> = header.split_whitespace().map(String::from).collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| ContainerError::Invalid("Couldn't find PID field in ps output".into()))?;
    let mut processes = Vec::new();
    for line in lines {
        let fields = split_n(line, titles.len());
        let Some(pid) = fields.get(pid_col).and_then(|p| p.parse::<u64>().ok()) else { continue };
        if pids.contains(&pid) {
            processes.push(fields);
        }
    }
    Ok(Top { titles, processes })
}

/// At most `n` whitespace-separated fields; the last keeps the rest.
fn split_n(line: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    while out.len() + 1 < n && !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        out.push(rest[..end].to_string());
        rest = rest[end..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest.trim_end().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn keeps_the_container_rows() {
        let ps = "UID          PID    PPID  C STIME TTY          TIME CMD\nroot           1       0  0 07:00 ?        00:00:01 /sbin/init\nroot         42       1  0 07:01 ?        00:00:00 sleep 1000 now\n";
        let t = parse(ps, &[42]).unwrap();
        assert_eq!(t.titles.len(), 8);
        assert_eq!(t.processes, vec![vec!["root", "42", "1", "0", "07:01", "?", "00:00:00", "sleep 1000 now"]]);
        assert!(parse("USER CMD\nx y\n", &[1]).is_err());
    }
}
