//! The architecture bocker filters for: its audit token, the Go name
//! Docker's `includes.arches` uses for it, and its syscall table.

/// The native architecture of a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arch {
    /// `AUDIT_ARCH_*` (linux/audit.h), as seen in `seccomp_data.arch`
    pub audit: u32,
    /// Docker's name for it in `includes.arches` / `excludes.arches`
    pub go_name: &'static str,
    /// bit set in the syscall number by another ABI on this arch (x32 on x86_64)
    pub foreign_abi_bit: Option<u32>,
    table: &'static [(&'static str, u32)],
}

/// x86_64: `AUDIT_ARCH_X86_64` = EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE.
pub const X86_64: Arch = Arch {
    audit: 0xc000_003e,
    go_name: "amd64",
    foreign_abi_bit: Some(0x4000_0000),
    table: super::x86_64::SYSCALLS,
};

impl Arch {
    /// The arch this binary runs on, if bocker has a syscall table for it.
    pub fn native() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(X86_64)
        } else {
            None
        }
    }

    /// The syscall's number on this arch; None if it has no such syscall.
    pub fn syscall(&self, name: &str) -> Option<u32> {
        self.table.binary_search_by(|(n, _)| (*n).cmp(name)).ok().map(|i| self.table[i].1)
    }

    #[cfg(test)]
    pub fn table(&self) -> &'static [(&'static str, u32)] {
        self.table
    }
}

/// The `SCMP_ARCH_*` names libseccomp knows (for checking `architectures`
/// and `archMap`; the filter itself only admits the native arch).
pub const SCMP_ARCHES: &[&str] = &[
    "SCMP_ARCH_NATIVE", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
];
