//! Docker's seccomp profile format (moby `profiles/seccomp`): the JSON types,
//! read with serde. Keys outside Docker's format are refused by name; the
//! values are checked later, when the profile is compiled.
use serde::Deserialize;

use super::SeccompError;

/// A whole profile (`--security-opt seccomp=FILE.json`, or the default).
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Profile {
    #[serde(default)]
    pub default_action: String,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    /// `SCMP_ARCH_*` names (alternative to `archMap`)
    #[serde(default, deserialize_with = "null_as_default")]
    pub architectures: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub arch_map: Vec<ArchMap>,
    /// seccomp(2) filter flags, e.g. `SECCOMP_FILTER_FLAG_LOG`
    #[serde(default, deserialize_with = "null_as_default")]
    pub flags: Vec<String>,
    /// user-notification listener (SCMP_ACT_NOTIFY), which bocker refuses
    #[serde(default)]
    pub listener_path: String,
    #[serde(default)]
    pub listener_metadata: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub syscalls: Vec<Syscall>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sub_architectures: Vec<String>,
}

/// One rule: the syscalls it names, what to do, and when it applies.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Syscall {
    /// the old single-name form (one of `name`/`names`)
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub names: Vec<String>,
    pub action: String,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub args: Vec<Arg>,
    #[serde(default)]
    pub comment: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub includes: Conditions,
    #[serde(default, deserialize_with = "null_as_default")]
    pub excludes: Conditions,
}

/// `includes` / `excludes`: the rule applies (or not) on these
/// architectures (Go names: `amd64`, `arm64`, …), with all (any) of these
/// capabilities, from (before) this kernel version.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Conditions {
    #[serde(default, deserialize_with = "null_as_default")]
    pub arches: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub caps: Vec<String>,
    #[serde(default)]
    pub min_kernel: String,
}

/// A condition on one syscall argument.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Arg {
    pub index: u32,
    #[serde(default)]
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

/// Docker's Go structs read `null` as the empty value; so does bocker.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Parses a profile; JSON errors are serde's, with line and column.
pub fn parse(json: &str) -> Result<Profile, SeccompError> {
    // serde would also read a struct from an array; Docker's format is an object
    if !json.trim_start().starts_with('{') {
        return Err(SeccompError::Invalid { at: "profile".into(), msg: "not a JSON object".into() });
    }
    Ok(serde_json::from_str(json)?)
}

/// The same from JSON already parsed (an OCI configuration's
/// `linux.seccomp`), without writing it out and reading it again.
pub fn from_value(json: serde_json::Value) -> Result<Profile, SeccompError> {
    if !json.is_object() {
        return Err(SeccompError::Invalid { at: "profile".into(), msg: "not a JSON object".into() });
    }
    Ok(serde_json::from_value(json)?)
}
