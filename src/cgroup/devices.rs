//! Device rules of a container: the v1 `devices.allow` syntax, Docker's
//! default allow list, host device nodes for `--device`, and the v1 device
//! list as the kernel keeps it (so the v2 BPF program can mirror it exactly).
//!
//! The default list follows runc 1.2.4+ (`libcontainer/specconv/spec_linux.go`
//! `AllowedDevices`, with tun/tap re-added in 1.2.4) appended to moby's
//! `oci/defaults.go` device rules, in that order, as runc applies them for
//! Docker: moby's rules come first, runc's built-in list is appended.
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Which device nodes a rule is about. `All` ("a") is the v1 switch of the
/// default behaviour: the kernel ignores its numbers and access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    All,
    Char,
    Block,
}

impl DeviceKind {
    pub fn letter(self) -> char {
        match self {
            DeviceKind::All => 'a',
            DeviceKind::Char => 'c',
            DeviceKind::Block => 'b',
        }
    }
}

/// A set of device accesses: read, write, mknod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Access(u8);

impl Access {
    pub const NONE: Access = Access(0);
    pub const READ: Access = Access(1);
    pub const WRITE: Access = Access(2);
    pub const MKNOD: Access = Access(4);
    pub const RW: Access = Access(3);
    pub const RWM: Access = Access(7);

    pub fn bits(self) -> u8 {
        self.0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn intersects(self, other: Access) -> bool {
        self.0 & other.0 != 0
    }
    pub fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }
    pub fn without(self, other: Access) -> Access {
        Access(self.0 & !other.0)
    }
    /// Takes the r, w and m letters of `s` and ignores anything else.
    fn lenient(s: &str) -> Access {
        s.chars().fold(Access::NONE, |a, c| a.union(Access::from_letter(c).unwrap_or(Access::NONE)))
    }
    fn from_letter(c: char) -> Option<Access> {
        match c {
            'r' => Some(Access::READ),
            'w' => Some(Access::WRITE),
            'm' => Some(Access::MKNOD),
            _ => None,
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in [(Access::READ, 'r'), (Access::WRITE, 'w'), (Access::MKNOD, 'm')] {
            if self.contains(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// An access string as the kernel and Docker accept it: 1 to 3 of r, w, m.
impl FromStr for Access {
    type Err = RuleParseError;
    fn from_str(s: &str) -> Result<Access, RuleParseError> {
        let bad = |why| RuleParseError { rule: s.to_string(), why };
        if s.is_empty() || s.len() > 3 {
            return Err(bad("access must be 1 to 3 of r, w, m"));
        }
        s.chars().try_fold(Access::NONE, |a, c| {
            Access::from_letter(c).map(|b| a.union(b)).ok_or_else(|| bad("access must be 1 to 3 of r, w, m"))
        })
    }
}

/// One line of `devices.allow` / `devices.deny`, with which file it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceRule {
    pub allow: bool,
    pub kind: DeviceKind,
    /// `None` is the wildcard `*`.
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: Access,
}

impl DeviceRule {
    pub const fn new(allow: bool, kind: DeviceKind, major: Option<u32>, minor: Option<u32>, access: Access) -> Self {
        DeviceRule { allow, kind, major, minor, access }
    }

    /// Parses the v1 syntax (`c 1:3 rwm`, `b *:* m`, `a`), for `allow` or deny.
    pub fn parse(s: &str, allow: bool) -> Result<DeviceRule, RuleParseError> {
        let bad = |why| RuleParseError { rule: s.to_string(), why };
        let mut words = s.split_whitespace();
        let kind = match words.next() {
            Some("a") => DeviceKind::All,
            Some("c") => DeviceKind::Char,
            Some("b") => DeviceKind::Block,
            Some(_) => return Err(bad("type must be a, c or b")),
            None => return Err(bad("empty rule")),
        };
        let Some(numbers) = words.next() else {
            return match kind {
                DeviceKind::All => Ok(DeviceRule::new(allow, kind, None, None, Access::RWM)),
                _ => Err(bad("missing MAJOR:MINOR")),
            };
        };
        let (major, minor) = numbers.split_once(':').ok_or_else(|| bad("numbers must be MAJOR:MINOR"))?;
        let number = |n: &str| match n {
            "*" => Ok(None),
            _ if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                n.parse::<u32>().map(Some).map_err(|_| bad("device number out of range"))
            }
            _ => Err(bad("device numbers must be decimal or *")),
        };
        let (major, minor) = (number(major)?, number(minor)?);
        let access = match words.next() {
            Some(a) => a.parse::<Access>().map_err(|e| bad(e.why))?,
            None => return Err(bad("missing access (r, w, m)")),
        };
        if words.next().is_some() {
            return Err(bad("trailing text"));
        }
        Ok(DeviceRule::new(allow, kind, major, minor, access))
    }

    /// Whether this rule's type and numbers cover device `kind major:minor`.
    fn covers(&self, kind: DeviceKind, major: u32, minor: u32) -> bool {
        self.kind == kind && self.major.is_none_or(|m| m == major) && self.minor.is_none_or(|m| m == minor)
    }
}

/// The v1 syntax, without the allow/deny part (that is the file written to).
impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = |v: Option<u32>| v.map_or_else(|| "*".to_string(), |v| v.to_string());
        write!(f, "{} {}:{} {}", self.kind.letter(), n(self.major), n(self.minor), self.access)
    }
}

/// Parses an allow rule (`--device-cgroup-rule` syntax).
impl FromStr for DeviceRule {
    type Err = RuleParseError;
    fn from_str(s: &str) -> Result<DeviceRule, RuleParseError> {
        DeviceRule::parse(s, true)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid device rule {rule:?}: {why}")]
pub struct RuleParseError {
    pub rule: String,
    pub why: &'static str,
}

const fn allow_char(major: u32, minor: Option<u32>, access: Access) -> DeviceRule {
    DeviceRule::new(true, DeviceKind::Char, Some(major), minor, access)
}

/// What Docker's containers get through runc: deny everything, then moby's
/// `oci/defaults.go` rules (zero, null, urandom, random, tty, console rwm;
/// fuse 10:229 denied), then runc's `AllowedDevices` (mknod of any char and
/// block device; null, random, full, tty, zero, urandom, pts 136:*, ptmx 5:2
/// and tun 10:200 rwm). Several repeat: the kernel merges them.
pub fn docker_default_rules() -> Vec<DeviceRule> {
    let rwm = Access::RWM;
    vec![
        // moby oci/defaults.go
        DeviceRule::new(false, DeviceKind::All, None, None, rwm),
        allow_char(1, Some(5), rwm),
        allow_char(1, Some(3), rwm),
        allow_char(1, Some(9), rwm),
        allow_char(1, Some(8), rwm),
        allow_char(5, Some(0), rwm),
        allow_char(5, Some(1), rwm),
        DeviceRule::new(false, DeviceKind::Char, Some(10), Some(229), rwm),
    ]
    .into_iter()
    .chain(runc_allowed_rules())
    .collect()
}

/// runc's `AllowedDevices` (libcontainer/specconv), which it adds after a
/// configuration's own rules: the devices every container's /dev has.
pub fn runc_allowed_rules() -> Vec<DeviceRule> {
    let rwm = Access::RWM;
    vec![
        DeviceRule::new(true, DeviceKind::Char, None, None, Access::MKNOD),
        DeviceRule::new(true, DeviceKind::Block, None, None, Access::MKNOD),
        allow_char(1, Some(3), rwm),
        allow_char(1, Some(8), rwm),
        allow_char(1, Some(7), rwm),
        allow_char(5, Some(0), rwm),
        allow_char(1, Some(5), rwm),
        allow_char(1, Some(9), rwm),
        allow_char(136, None, rwm),
        allow_char(5, Some(2), rwm),
        allow_char(10, Some(200), rwm),
    ]
}

/// The device policy of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePolicy {
    /// `--privileged`: every device.
    AllowAll,
    /// Deny everything, then these rules in order.
    Rules(Vec<DeviceRule>),
}

impl DevicePolicy {
    /// The device list the kernel ends up with once this policy is written
    /// to a fresh v1 devices cgroup (whose parent allows everything).
    pub fn device_list(&self) -> DeviceList {
        let mut list = DeviceList::allow_all();
        match self {
            DevicePolicy::AllowAll => {}
            DevicePolicy::Rules(rules) => {
                list.apply(&DeviceRule::new(false, DeviceKind::All, None, None, Access::RWM));
                rules.iter().for_each(|r| list.apply(r));
            }
        }
        list
    }
}

/// A v1 devices cgroup's state, as the kernel keeps it (security/device_cgroup.c):
/// a default behaviour and exceptions to it. Exceptions are only c or b.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    pub default_allow: bool,
    pub exceptions: Vec<DeviceRule>,
}

impl DeviceList {
    pub fn allow_all() -> DeviceList {
        DeviceList { default_allow: true, exceptions: Vec::new() }
    }

    /// Writes one rule, as a write to devices.allow (allow) or devices.deny.
    pub fn apply(&mut self, rule: &DeviceRule) {
        if rule.kind == DeviceKind::All {
            // "a" switches the default and drops every exception.
            self.default_allow = rule.allow;
            self.exceptions.clear();
        } else if rule.allow != self.default_allow {
            self.add(rule);
        } else {
            self.remove(rule);
        }
    }

    /// The kernel merges an exception with an identical type and numbers.
    fn add(&mut self, rule: &DeviceRule) {
        let ex = DeviceRule { allow: !self.default_allow, ..*rule };
        match self.exceptions.iter_mut().find(|e| (e.kind, e.major, e.minor) == (ex.kind, ex.major, ex.minor)) {
            Some(e) => e.access = e.access.union(ex.access),
            None => self.exceptions.push(ex),
        }
    }

    /// The kernel takes access away only from exceptions with exactly the
    /// same type and numbers (a wildcard does not remove a specific one).
    fn remove(&mut self, rule: &DeviceRule) {
        for e in self.exceptions.iter_mut() {
            if (e.kind, e.major, e.minor) == (rule.kind, rule.major, rule.minor) {
                e.access = e.access.without(rule.access);
            }
        }
        self.exceptions.retain(|e| !e.access.is_empty());
    }

    /// Whether a process may have `access` to device `kind major:minor`.
    /// Default deny: one exception must cover the whole access; default
    /// allow: any exception overlapping the access denies it.
    pub fn permits(&self, kind: DeviceKind, major: u32, minor: u32, access: Access) -> bool {
        let mut hits = self.exceptions.iter().filter(|e| e.covers(kind, major, minor));
        if self.default_allow {
            !hits.any(|e| e.access.intersects(access))
        } else {
            hits.any(|e| e.access.contains(access))
        }
    }

    /// `devices.list` as the kernel prints it.
    pub fn render(&self) -> Vec<String> {
        if self.default_allow {
            return vec!["a *:* rwm".to_string()];
        }
        self.exceptions.iter().map(|e| e.to_string()).collect()
    }
}

/// A device node on the host, as `--device` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostDevice {
    /// Char or Block.
    pub kind: DeviceKind,
    pub major: u32,
    pub minor: u32,
    /// Permission bits of the node (st_mode & 0o7777).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("error gathering device information while adding custom device {path:?}: not a device node")]
    NotADevice { path: PathBuf },
    #[error("error gathering device information while adding custom device {path:?}: {reason}")]
    Stat { path: PathBuf, reason: String, source: std::io::Error },
}

/// Stats a host path, following symlinks as Docker does, and describes the
/// char or block device it names.
pub fn host_device(path: &Path) -> Result<HostDevice, DeviceError> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(path).map_err(|source| DeviceError::Stat {
        path: path.to_path_buf(),
        reason: io_reason(&source),
        source,
    })?;
    let ft = meta.file_type();
    let kind = if ft.is_char_device() {
        DeviceKind::Char
    } else if ft.is_block_device() {
        DeviceKind::Block
    } else {
        return Err(DeviceError::NotADevice { path: path.to_path_buf() });
    };
    let rdev = meta.rdev();
    Ok(HostDevice {
        kind,
        major: libc::major(rdev),
        minor: libc::minor(rdev),
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
    })
}

/// An OS error as Go prints it ("no such file or directory").
fn io_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let desc = nix::errno::Errno::from_raw(n).desc();
            let mut c = desc.chars();
            c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
        }
        None => e.to_string(),
    }
}

/// The allow rule for a `--device` node with Docker's permissions string
/// (`rwm` and subsets; validated where the flag is parsed). Letters other
/// than r, w, m are ignored; an empty string means `rwm`, as in Docker.
pub fn rule_for(dev: &HostDevice, permissions: &str) -> DeviceRule {
    let access = match Access::lenient(permissions) {
        a if a.is_empty() => Access::RWM,
        a => a,
    };
    DeviceRule::new(true, dev.kind, Some(dev.major), Some(dev.minor), access)
}

/// Writes a policy into a v1 devices cgroup directory: deny first, then
/// every rule to devices.allow or devices.deny in order.
pub fn apply_v1(dir: &Path, policy: &DevicePolicy) -> Result<(), super::CgroupError> {
    use std::io::Write;
    // each file opened once: the kernel takes one rule per write(2)
    let open = |file: &str| {
        let p = dir.join(file);
        std::fs::OpenOptions::new().write(true).open(&p).map(|f| (f, p))
    };
    let fail = |p: &Path, line: &str| {
        let (path, line) = (p.display().to_string(), line.to_string());
        move |source| super::CgroupError::Devices { path, line, source }
    };
    let (mut allow, allow_path) = open("devices.allow").map_err(fail(&dir.join("devices.allow"), ""))?;
    if *policy == DevicePolicy::AllowAll {
        return allow.write_all(b"a").map_err(fail(&allow_path, "a"));
    }
    let (mut deny, deny_path) = open("devices.deny").map_err(fail(&dir.join("devices.deny"), ""))?;
    deny.write_all(b"a").map_err(fail(&deny_path, "a"))?;
    let DevicePolicy::Rules(rules) = policy else { return Ok(()) };
    for r in rules {
        let line = if r.kind == DeviceKind::All { "a".to_string() } else { r.to_string() };
        let (f, p) = if r.allow { (&mut allow, &allow_path) } else { (&mut deny, &deny_path) };
        f.write_all(line.as_bytes()).map_err(fail(p, &line))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeviceKind::{Block, Char};

    #[test]
    fn display_and_parse_round_trip() {
        for s in ["c 1:3 rwm", "b *:* m", "c 136:* rw", "a *:* rwm", "c 10:200 r", "b 8:0 wm"] {
            let r: DeviceRule = s.parse().expect(s);
            assert_eq!(r.to_string(), s);
            assert!(r.allow);
        }
        let d = DeviceRule::parse("c 10:229 rwm", false).expect("deny");
        assert!(!d.allow);
        assert_eq!(DeviceRule::parse("a", true).expect("a").to_string(), "a *:* rwm");
        // access letters in any order print as rwm order
        assert_eq!("c 1:3 mwr".parse::<DeviceRule>().expect("mwr").to_string(), "c 1:3 rwm");
    }

    #[test]
    fn parse_rejects_bad_rules() {
        for s in ["", "x 1:3 rwm", "c 1:3", "c 1-3 rwm", "c 1:3 rwx", "c 1:3 rwmr", "c :3 r", "c 1:3 r extra",
            "c 99999999999:1 r", "c -1:3 r", "c 1:3 "] {
            let e = s.parse::<DeviceRule>().expect_err(s);
            assert_eq!(e.rule, s);
        }
    }

    #[test]
    fn default_list_is_runc_and_moby() {
        let rules = docker_default_rules();
        assert_eq!(rules[0], DeviceRule::new(false, DeviceKind::All, None, None, Access::RWM));
        let list = DevicePolicy::Rules(rules).device_list();
        assert!(!list.default_allow);
        assert_eq!(
            list.render(),
            ["c 1:5 rwm", "c 1:3 rwm", "c 1:9 rwm", "c 1:8 rwm", "c 5:0 rwm", "c 5:1 rwm", "c *:* m", "b *:* m",
                "c 1:7 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"]
        );
        for (maj, min) in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (136, 4), (10, 200)] {
            assert!(list.permits(Char, maj, min, Access::RW), "{maj}:{min}");
        }
        assert!(list.permits(Block, 8, 0, Access::MKNOD));
        assert!(!list.permits(Block, 8, 0, Access::READ));
        assert!(!list.permits(Char, 1, 1, Access::READ));
        assert!(!list.permits(Char, 10, 229, Access::READ));
        assert_eq!(DevicePolicy::AllowAll.device_list().render(), ["a *:* rwm"]);
    }

    #[test]
    fn list_follows_kernel_rules() {
        let mut l = DeviceList::allow_all();
        l.apply(&"a".parse().expect("a"));
        assert!(l.default_allow, "allow a keeps allow-all");
        l.apply(&DeviceRule::parse("a", false).expect("a"));
        l.apply(&"c 1:3 rw".parse().expect("r"));
        l.apply(&"c 1:3 m".parse().expect("r"));
        assert_eq!(l.render(), ["c 1:3 rwm"]);
        l.apply(&DeviceRule::parse("c 1:3 w", false).expect("d"));
        assert_eq!(l.render(), ["c 1:3 rm"]);
        // a wildcard deny does not remove a specific exception
        l.apply(&DeviceRule::parse("c *:* rwm", false).expect("d"));
        assert_eq!(l.render(), ["c 1:3 rm"]);
        // allow-all with deny exceptions: any overlap denies
        let mut b = DeviceList::allow_all();
        b.apply(&DeviceRule::parse("c 1:3 w", false).expect("d"));
        assert!(!b.permits(Char, 1, 3, Access::RW));
        assert!(b.permits(Char, 1, 3, Access::READ));
        assert!(b.permits(Block, 1, 3, Access::RWM));
    }

    #[test]
    fn host_device_and_rule() {
        let null = host_device(Path::new("/dev/null")).expect("/dev/null");
        assert_eq!((null.kind, null.major, null.minor), (Char, 1, 3));
        assert_eq!(rule_for(&null, "rw").to_string(), "c 1:3 rw");
        assert_eq!(rule_for(&null, "").to_string(), "c 1:3 rwm");
        let e = host_device(Path::new("/etc/hostname")).expect_err("file");
        assert_eq!(
            e.to_string(),
            "error gathering device information while adding custom device \"/etc/hostname\": not a device node"
        );
        let e = host_device(Path::new("/nonexistent-bocker")).expect_err("missing");
        assert_eq!(
            e.to_string(),
            "error gathering device information while adding custom device \"/nonexistent-bocker\": no such file or directory"
        );
        // symlinks are followed (/dev/stdin -> /proc/self/fd/0 may not be a device; /dev/fd is a dir link)
        let tmp = tempfile::tempdir().expect("tmp");
        let link = tmp.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).expect("symlink");
        let z = host_device(&link).expect("link to /dev/zero");
        assert_eq!((z.kind, z.major, z.minor), (Char, 1, 5));
    }
}
