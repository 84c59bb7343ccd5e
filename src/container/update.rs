//! `bocker.container.update(ref, limits)`: new limits for a container,
//! created, running or exited. A running one's cgroup changes at once;
//! the record keeps them, so the next start (or restart) has them too.
use super::{inspect, record_lock, runflags, ContainerError, Result};
use crate::cgroup::ContainerCgroup;
use crate::state::containers::Limits;
use crate::state::supervision::RestartPolicy;
use crate::state::Store;
use serde::Deserialize;

/// What `update` accepts (unknown keys are an error); an absent key
/// leaves that limit as it is.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpec {
    /// bytes; -1 unlimited (0: unchanged, as Docker's)
    #[serde(default)]
    pub memory: Option<i64>,
    /// memory + swap in bytes; -1 unlimited
    #[serde(default)]
    pub memory_swap: Option<i64>,
    #[serde(default)]
    pub memory_reservation: Option<i64>,
    #[serde(default)]
    pub cpu_shares: Option<u64>,
    /// CPUs of quota; 0 removes the quota
    #[serde(default)]
    pub cpus: Option<f64>,
    #[serde(default)]
    pub cpuset_cpus: Option<String>,
    /// 0 or less: unlimited
    #[serde(default)]
    pub pids_limit: Option<i64>,
    /// no|on-failure[:N]|always|unless-stopped
    #[serde(default)]
    pub restart: Option<String>,
}

/// `old` with what `u` gives over it, checked as at create.
pub fn merged(old: &Limits, u: &UpdateSpec) -> Result<Limits> {
    let mut l = old.clone();
    match u.memory {
        Some(m) if m < 0 => l.memory = -1,
        Some(m) if m > 0 && m < 6 * 1024 * 1024 => return Err(ContainerError::Invalid("minimum memory limit allowed is 6MB".into())),
        Some(m) if m > 0 => l.memory = m,
        _ => {}
    }
    if let Some(s) = u.memory_swap.filter(|s| *s != 0) {
        l.memory_swap = Some(s);
    }
    if let Some(r) = u.memory_reservation {
        l.memory_reservation = Some(r).filter(|r| *r != 0);
    }
    if let Some(c) = u.cpu_shares.filter(|c| *c != 0) {
        if c < 2 {
            return Err(ContainerError::Invalid(format!("invalid cpu shares {c} (2 to 262144)")));
        }
        l.cpu_shares = c;
    }
    if let Some(c) = u.cpus {
        l.nano_cpus = Some(runflags::nano_cpus(c).map_err(ContainerError::Invalid)?).filter(|n| *n > 0);
    }
    if let Some(c) = u.cpuset_cpus.as_ref().filter(|c| !c.is_empty()) {
        l.cpuset_cpus = Some(c.clone());
    }
    if let Some(p) = u.pids_limit {
        l.pids = Some(if p <= 0 { -1 } else { p });
    }
    runflags::check_memory(&l).map_err(ContainerError::Invalid)?;
    Ok(l)
}

/// Applies `u` to container `reference`; returns its id.
pub fn update(store: &Store, reference: &str, u: &UpdateSpec) -> Result<String> {
    let id = inspect(store, reference)?.record.id;
    let _l = record_lock(store, &id)?;
    let mut c = store.load_container(&id)?;
    let limits = merged(&c.limits, u)?;
    let restart = match &u.restart {
        None => c.restart.clone(),
        Some(r) => {
            let p: RestartPolicy = r.parse().map_err(ContainerError::Invalid)?;
            if c.auto_remove && !p.is_no() {
                return Err(ContainerError::Invalid("Restart policy cannot be updated because AutoRemove is enabled for the container".into()));
            }
            p
        }
    };
    // live first: a limit the kernel refuses changes nothing
    let info = inspect(store, &id)?;
    if info.running && limits != c.limits {
        let cg = ContainerCgroup::load(&id);
        if cg.exists() {
            cg.apply_limits(&limits).map_err(|e| ContainerError::Invalid(format!("Cannot update container {id}: {e}")))?;
        }
    }
    c.limits = limits;
    c.restart = restart;
    store.save_container(&c)?;
    super::events::emit(store, &c, "update", &[]);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_what_is_not_given() {
        let old = Limits { cpu_shares: 512, memory: 64 << 20, pids: Some(10), ..Default::default() };
        let same = merged(&old, &UpdateSpec::default()).unwrap();
        assert_eq!(same, old);
        let u = UpdateSpec { memory: Some(128 << 20), cpus: Some(0.5), pids_limit: Some(0), ..Default::default() };
        let l = merged(&old, &u).unwrap();
        assert_eq!((l.memory, l.nano_cpus, l.pids, l.cpu_shares), (128 << 20, Some(500_000_000), Some(-1), 512));
        let off = merged(&l, &UpdateSpec { cpus: Some(0.0), ..Default::default() }).unwrap();
        assert_eq!(off.nano_cpus, None);
        assert!(merged(&old, &UpdateSpec { memory: Some(1024), ..Default::default() }).is_err());
        assert!(merged(&old, &UpdateSpec { memory_swap: Some(32 << 20), ..Default::default() }).is_err(), "swap below memory");
    }
}
