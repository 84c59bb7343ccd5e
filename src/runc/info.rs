//! `state`, `list` and `ps`: what runc prints, in runc's formats.
use super::args::{self, flag, opt};
use super::state::{cgroup_of, Record, OCI_VERSION};
use super::{one_id, Ctx};
use crate::runtime::oci_state::OciStatus;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::PathBuf;

/// JSON with runc's 2-space indentation.
fn pretty<T: Serialize>(v: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(v)?)
}

pub fn state(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, &[])?;
    let id = one_id(&p, "state")?;
    let rec = ctx.root.load(&id)?;
    let st = ctx.root.oci_state(&rec, ctx.root.status(&rec));
    println!("{}", pretty(&st)?);
    Ok(0)
}

/// One container as `runc list --format json` shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListItem {
    oci_version: String,
    id: String,
    pid: i32,
    status: OciStatus,
    bundle: PathBuf,
    rootfs: PathBuf,
    created: String,
    owner: String,
    #[serde(skip_serializing_if = "std::collections::HashMap::is_empty")]
    annotations: std::collections::HashMap<String, String>,
}

fn item(ctx: &Ctx, rec: Record) -> ListItem {
    let status = ctx.root.status(&rec);
    ListItem {
        oci_version: OCI_VERSION.into(),
        pid: if status == OciStatus::Stopped { 0 } else { rec.init_pid },
        status,
        id: rec.id,
        bundle: rec.bundle,
        rootfs: rec.rootfs,
        created: rec.created,
        owner: rec.owner,
        annotations: rec.annotations,
    }
}

/// Columns as Go's tabwriter with runc's settings (min width 12,
/// padding 3, spaces): every column but the last padded.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .map(|w| (w + 3).max(12))
        .collect();
    let mut out = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

pub fn list(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, &[opt(&["format", "f"]), flag(&["quiet", "q"])])?;
    if !p.positional.is_empty() {
        bail!("\"list\" requires exactly 0 argument(s)");
    }
    let items: Vec<ListItem> = ctx.root.list()?.into_iter().map(|r| item(ctx, r)).collect();
    if p.has("quiet") {
        items.iter().for_each(|i| println!("{}", i.id));
        return Ok(0);
    }
    match p.value("format").unwrap_or("table") {
        // runc encodes an empty list as null
        "json" if items.is_empty() => println!("null"),
        "json" => println!("{}", serde_json::to_string(&items)?),
        "table" => {
            let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from).to_vec()];
            for i in &items {
                let status = serde_json::to_value(i.status)?.as_str().unwrap_or_default().to_string();
                rows.push(vec![i.id.clone(), i.pid.to_string(), status, i.bundle.display().to_string(), i.created.clone(), i.owner.clone()]);
            }
            print!("{}", table(&rows));
        }
        other => bail!("invalid format option {other:?}"),
    }
    Ok(0)
}

pub fn ps(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let mut p = args::parse(rest, &[opt(&["format", "f"])])?;
    if p.positional.is_empty() {
        bail!("\"ps\" requires a minimum of 1 argument(s)");
    }
    let ps_args: Vec<String> = p.positional.split_off(1);
    let id = one_id(&p, "ps")?;
    let rec = ctx.root.load(&id)?;
    if ctx.root.status(&rec) == OciStatus::Stopped {
        bail!("container not running");
    }
    let pids = cgroup_of(&rec)?.processes();
    match p.value("format").unwrap_or("table") {
        "json" => println!("{}", serde_json::to_string(&pids)?),
        "table" => {
            let ps_args = if ps_args.is_empty() { vec!["-ef".to_string()] } else { ps_args };
            let out = std::process::Command::new("ps").args(&ps_args).output().context("run ps")?;
            if !out.status.success() {
                bail!("ps {}: {}", ps_args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
            }
            print!("{}", keep_pids(&String::from_utf8_lossy(&out.stdout), &pids)?);
        }
        other => bail!("invalid format option {other:?}"),
    }
    Ok(0)
}

/// ps's header and the lines whose PID column is one of `pids` (runc's
/// filter: the column titled PID).
pub fn keep_pids(ps_out: &str, pids: &[u64]) -> Result<String> {
    let mut lines = ps_out.lines();
    let header = lines.next().unwrap_or_default();
    let Some(col) = header.split_whitespace().position(|h| h == "PID") else {
        bail!("couldn't find PID field in ps output");
    };
    let mut out = format!("{header}\n");
    for l in lines {
        let pid = l.split_whitespace().nth(col).and_then(|f| f.parse::<u64>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(l);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_like_tabwriter() {
        let rows = vec![
            ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from).to_vec(),
            ["a-long-container-id", "42", "running", "/b", "2026-11-29T20:35:16.5Z", "root"].map(String::from).to_vec(),
        ];
        let t = table(&rows);
        let first = t.lines().next().expect("header");
        assert!(first.starts_with("ID                    PID         STATUS      BUNDLE      CREATED"), "{t}");
        assert!(t.lines().nth(1).expect("row").ends_with("2026-11-29T20:35:16.5Z   root"), "{t}");
        assert_eq!(
            table(&[["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from).to_vec()]),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
    }

    #[test]
    fn ps_lines_of_the_container() {
        let out = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 /sbin/init\nroot 42 1 0 10:00 ? 00:00:00 sleep 9\n";
        assert_eq!(keep_pids(out, &[42]).expect("filter"), "UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 10:00 ? 00:00:00 sleep 9\n");
        assert!(keep_pids("USER COMMAND\n", &[1]).is_err());
    }
}
