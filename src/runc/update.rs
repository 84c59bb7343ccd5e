//! `update`: new limits for a container's cgroup, from `--resources
//! FILE` (`-`: stdin; the runtime-spec's linux.resources JSON, as
//! containerd's shim and podman pass it) or from the flags.
use super::args::{self, opt, Flag, Parsed};
use super::state::cgroup_of;
use super::{one_id, Ctx};
use crate::cgroup::Resources;
use crate::runtime::oci_state::OciStatus;
use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::LinuxResources;
use std::io::Read;

const UPDATE_FLAGS: &[Flag] = &[
    opt(&["resources", "r"]),
    opt(&["memory"]),
    opt(&["memory-reservation"]),
    opt(&["memory-swap"]),
    opt(&["cpu-shares"]),
    opt(&["cpu-quota"]),
    opt(&["cpu-period"]),
    opt(&["cpuset-cpus"]),
    opt(&["cpuset-mems"]),
    opt(&["pids-limit"]),
    opt(&["kernel-memory"]),
    opt(&["kernel-memory-tcp"]),
    opt(&["blkio-weight"]),
    opt(&["cpu-rt-period"]),
    opt(&["cpu-rt-runtime"]),
    opt(&["l3-cache-schema"]),
    opt(&["mem-bw-schema"]),
];

pub fn update(ctx: &mut Ctx, rest: &[String]) -> Result<u8> {
    let p = args::parse(rest, UPDATE_FLAGS)?;
    let id = one_id(&p, "update")?;
    let res = match p.value("resources") {
        Some(src) => Resources::from_oci(&read_resources(src)?)?,
        None => from_flags(&p)?,
    };
    ctx.root.load(&id)?;
    let _lock = ctx.root.lock(&id)?;
    let rec = ctx.root.load(&id)?;
    if ctx.root.status(&rec) == OciStatus::Stopped {
        bail!("container not running");
    }
    cgroup_of(&rec)?.update(&res)?;
    Ok(0)
}

fn read_resources(src: &str) -> Result<LinuxResources> {
    let text = if src == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("read resources from stdin")?;
        s
    } else {
        std::fs::read_to_string(src).with_context(|| format!("read resources file {src}"))?
    };
    serde_json::from_str(&text).with_context(|| format!("{src}: invalid linux.resources JSON"))
}

fn from_flags(p: &Parsed) -> Result<Resources> {
    for refused in ["kernel-memory", "kernel-memory-tcp", "blkio-weight", "cpu-rt-period", "cpu-rt-runtime", "l3-cache-schema", "mem-bw-schema"] {
        if p.value(refused).is_some() {
            bail!("update --{refused} is not supported by bocker-runc");
        }
    }
    let bytes = |name: &str| p.value(name).map(|v| parse_bytes(v).map_err(|e| anyhow!("--{name}: {e}"))).transpose();
    Ok(Resources {
        memory_limit: bytes("memory")?,
        memory_reservation: bytes("memory-reservation")?,
        memory_swap: bytes("memory-swap")?,
        cpu_shares: p.number("cpu-shares")?,
        cpu_quota: p.number("cpu-quota")?,
        cpu_period: p.number("cpu-period")?,
        cpuset_cpus: p.value("cpuset-cpus").map(str::to_string),
        cpuset_mems: p.value("cpuset-mems").map(str::to_string),
        pids_limit: p.number("pids-limit")?,
        devices: None,
    })
}

/// A size as runc's update takes it (docker's RAMInBytes): a number
/// with an optional b, k, m, g, t (or kb, mb, …) suffix, powers of
/// 1024; -1 is unlimited.
pub fn parse_bytes(s: &str) -> Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| anyhow!("invalid size {s:?}"))?;
    let mult: f64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => bail!("invalid size {s:?}"),
    };
    let v = n * mult;
    if !v.is_finite() || v > i64::MAX as f64 {
        bail!("invalid size {s:?}");
    }
    Ok(v as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1024").expect("n"), 1024);
        assert_eq!(parse_bytes("64m").expect("m"), 64 << 20);
        assert_eq!(parse_bytes("1G").expect("g"), 1 << 30);
        assert_eq!(parse_bytes("2kb").expect("kb"), 2048);
        assert_eq!(parse_bytes("-1").expect("-1"), -1);
        for bad in ["", "x", "12q", "-5"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
    }
}
