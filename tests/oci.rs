//! OCI bundles: `bocker bundle` writes a container or an image as a
//! bundle (config.json + rootfs) and another OCI runtime (runc, installed
//! by scripts/test.sh) runs it with bocker's confinement: the user, the
//! capabilities, seccomp, masked paths, the read-only root, the hostname.
mod common;
use common::{text, Env};
use std::process::Command;

/// Runs a bundle with runc (under a unique name) and returns its output.
fn runc_run(bundle: &std::path::Path, name: &str) -> std::process::Output {
    let o = Command::new("runc").args(["run", "--bundle"]).arg(bundle).arg(name).stdin(std::process::Stdio::null()).output().expect("runc is installed by scripts/test.sh");
    let _ = Command::new("runc").args(["delete", "-f", name]).output();
    o
}

#[test]
fn an_image_bundle_runs_under_runc_with_bockers_confinement() {
    let e = Env::new();
    let img = e.busybox();
    let dir = e.dir.path().join("bundle");
    let script = "id; grep -E 'CapEff|CapBnd|Seccomp:' /proc/self/status; hostname; echo $HOME; cat /proc/keys | wc -c; touch /x 2>&1 || echo ro";
    let out = e.ok(&["bundle", "-o", dir.to_str().unwrap(), "--network", "none", "-u", "www", "--hostname", "bun", "--read-only", &img, "sh", "-c", script]);
    assert_eq!(out.trim(), dir.join("config.json").to_str().unwrap());
    // the container made for the occasion is gone again
    assert_eq!(e.ok(&["ps", "-aq"]).trim(), "");
    let name = format!("bocker-oci-{}", std::process::id());
    let o = runc_run(&dir, &name);
    let got = text(&o.stdout);
    assert!(o.status.success(), "runc: {}{}", got, text(&o.stderr));
    assert!(got.contains("uid=33(www) gid=33(www)"), "{got}");
    assert!(got.contains("CapBnd:\t00000000a80425fb") && got.contains("CapEff:\t0000000000000000"), "{got}");
    assert!(got.contains("Seccomp:\t2"), "{got}");
    assert!(got.contains("\nbun\n") && got.contains("/var/www\n"), "{got}");
    assert!(got.contains("\n0\n"), "/proc/keys is not masked: {got}");
    assert!(got.contains("Read-only file system") || got.ends_with("ro\n"), "{got}");
}

#[test]
fn a_container_bundle_keeps_its_changes_and_its_spec_is_inspectable() {
    let e = Env::new();
    let img = e.busybox();
    e.ok(&["run", "--network", "none", &img, "sh", "-c", "echo changed > /etc/os-release; rm /bin/vi"]);
    let id = e.ok(&["ps", "-aq"]).trim().to_string();
    let spec: serde_json::Value = serde_json::from_str(&e.ok(&["inspect", "--spec", &id])).unwrap();
    let spec = &spec[0];
    assert_eq!(spec["ociVersion"], "1.0.2");
    assert_eq!(spec["process"]["args"][0], "sh");
    assert_eq!(spec["linux"]["resources"]["memory"]["limit"], 512000000);
    assert!(spec["linux"]["maskedPaths"].as_array().unwrap().iter().any(|p| p == "/proc/keys"));
    assert_eq!(spec["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    let rules = spec["linux"]["resources"]["devices"].as_array().unwrap();
    assert_eq!(rules[0], serde_json::json!({"allow": false, "access": "rwm"}));
    assert!(rules.iter().any(|r| r["type"] == "c" && r["major"] == 136 && r["access"] == "rwm"), "{rules:?}");
    let dir = e.dir.path().join("cbundle");
    e.ok(&["bundle", "-o", dir.to_str().unwrap(), &id]);
    assert_eq!(std::fs::read_to_string(dir.join("rootfs/etc/os-release")).unwrap(), "changed\n");
    assert!(!dir.join("rootfs/bin/vi").exists() && dir.join("rootfs/bin/sh").exists());
    // a bundle folder that is not empty is refused, and left as it was
    let o = e.run(&["bundle", "-o", dir.to_str().unwrap(), &id]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o.stderr).contains("not empty"), "{}", text(&o.stderr));
    assert!(dir.join("config.json").exists());
    // a running container writes its upper dir: no bundle of it
    let run = e.ok(&["run", "-d", "--network", "none", &img, "sleep", "30"]);
    let o = e.run(&["bundle", "-o", e.dir.path().join("rbundle").to_str().unwrap(), run.trim()]);
    assert_eq!(o.status.code(), Some(125));
    assert!(text(&o.stderr).contains("is running"), "{}", text(&o.stderr));
    e.ok(&["rm", "-f", run.trim()]);
    // --privileged: all devices, no masks, no seccomp
    let pdir = e.dir.path().join("pbundle");
    e.ok(&["bundle", "-o", pdir.to_str().unwrap(), "--privileged", &img, "true"]);
    let p: serde_json::Value = serde_json::from_slice(&std::fs::read(pdir.join("config.json")).unwrap()).unwrap();
    assert!(p["linux"]["seccomp"].is_null() && p["linux"]["maskedPaths"].is_null());
    assert_eq!(p["linux"]["resources"]["devices"][0], serde_json::json!({"allow": true, "access": "rwm"}));
}
