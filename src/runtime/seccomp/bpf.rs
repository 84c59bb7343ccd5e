//! A resolved `Plan` → classic BPF for `SECCOMP_SET_MODE_FILTER`.
//!
//! Layout: check `arch` (foreign → kill the process) and the x32 bit, then
//! a binary search over the syscall number, split into ranges that share a
//! decision (so ~350 allowed syscalls cost ~9 comparisons), whose leaves
//! return an action or jump to a syscall's block of argument checks, placed
//! after the search. Arguments are 64-bit: each comparison looks at the high
//! then the low word of `seccomp_data.args[i]` (little-endian arches).
use libc::sock_filter;

use super::rules::{Action, Cond, Op, Plan, SyscallRules};
use super::SeccompError;

// Instruction classes and fields (linux/filter.h, linux/bpf_common.h).
const BPF_LD: u16 = 0x00;
const BPF_ALU: u16 = 0x04;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_W: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_AND: u16 = 0x50;
const BPF_JA: u16 = 0x00;
const BPF_JEQ: u16 = 0x10;
const BPF_JGT: u16 = 0x20;
const BPF_JGE: u16 = 0x30;
const BPF_K: u16 = 0x00;

/// The longest program the kernel takes (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

// Offsets in struct seccomp_data.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;

fn stmt(code: u16, k: u32) -> sock_filter {
    sock_filter { code, jt: 0, jf: 0, k }
}
fn jump(code: u16, k: u32, jt: u8, jf: u8) -> sock_filter {
    sock_filter { code: BPF_JMP | code | BPF_K, jt, jf, k }
}
fn load(off: u32) -> sock_filter {
    stmt(BPF_LD | BPF_W | BPF_ABS, off)
}
fn ret(k: u32) -> sock_filter {
    stmt(BPF_RET | BPF_K, k)
}

/// A leaf of the syscall-number search.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Leaf {
    Ret(u32),
    /// jump to the argument checks of the n-th syscall with conditions
    Block(usize),
}

/// A search-tree instruction whose block jump is resolved at the end.
enum Insn {
    Plain(sock_filter),
    JaBlock(usize),
}

/// Compiles the plan; errors only if the program is too long to load.
pub fn generate(plan: &Plan) -> Result<Vec<sock_filter>, SeccompError> {
    let default = plan.default.ret();
    let bad_arch = Action::KillProcess.ret();
    let mut prog = vec![
        load(OFF_ARCH),
        jump(BPF_JEQ, plan.arch.audit, 1, 0),
        ret(bad_arch),
        load(OFF_NR),
    ];
    if let Some(bit) = plan.arch.foreign_abi_bit {
        // another ABI's syscall (x32): kill, but let nr -1 (a tracer's
        // "skip this syscall") reach the default action
        prog.extend([jump(BPF_JGE, bit, 0, 3), jump(BPF_JEQ, u32::MAX, 1, 0), ret(bad_arch), ret(default)]);
    }

    // Ranges [start, next start) of syscall numbers sharing a leaf.
    let mut blocks: Vec<&SyscallRules> = Vec::new();
    let mut ranges: Vec<(u32, Leaf)> = vec![(0, Leaf::Ret(default))];
    for (&nr, rules) in &plan.syscalls {
        let leaf = if rules.conditional.is_empty() {
            Leaf::Ret(rules.unconditional.unwrap_or(plan.default).ret())
        } else {
            blocks.push(rules);
            Leaf::Block(blocks.len() - 1)
        };
        push_range(&mut ranges, nr, leaf);
        if let Some(next) = nr.checked_add(1) {
            push_range(&mut ranges, next, Leaf::Ret(default));
        }
    }

    let tree = search(&ranges);
    let tree_start = prog.len();
    let mut block_code = Vec::new();
    let mut block_at = Vec::with_capacity(blocks.len());
    for rules in &blocks {
        block_at.push(tree_start + tree.len() + block_code.len());
        block_code.extend(arg_block(rules, plan.default)?);
    }
    for (i, insn) in tree.into_iter().enumerate() {
        prog.push(match insn {
            Insn::Plain(f) => f,
            Insn::JaBlock(b) => {
                let off = block_at[b] - (tree_start + i + 1);
                stmt(BPF_JMP | BPF_JA, u32::try_from(off).map_err(|_| SeccompError::TooLong(off))?)
            }
        });
    }
    prog.extend(block_code);
    if prog.len() > MAX_INSNS {
        return Err(SeccompError::TooLong(prog.len()));
    }
    Ok(prog)
}

/// Appends a range, merging it into the previous one if they share a leaf
/// (or replacing the previous one if it was empty).
fn push_range(ranges: &mut Vec<(u32, Leaf)>, start: u32, leaf: Leaf) {
    match ranges.last_mut() {
        Some(last) if last.0 == start => {
            last.1 = leaf;
            let n = ranges.len();
            if n >= 2 && ranges[n - 2].1 == leaf {
                ranges.pop();
            }
        }
        Some(last) if last.1 == leaf => {}
        _ => ranges.push((start, leaf)),
    }
}

/// Binary search over the ranges (the accumulator holds the number).
fn search(ranges: &[(u32, Leaf)]) -> Vec<Insn> {
    if let [(_, leaf)] = ranges {
        return vec![match *leaf {
            Leaf::Ret(k) => Insn::Plain(ret(k)),
            Leaf::Block(b) => Insn::JaBlock(b),
        }];
    }
    let mid = ranges.len() / 2;
    let left = search(&ranges[..mid]);
    let right = search(&ranges[mid..]);
    let split = ranges[mid].0;
    let mut out = Vec::with_capacity(left.len() + right.len() + 2);
    match u8::try_from(left.len()) {
        Ok(n) => out.push(Insn::Plain(jump(BPF_JGE, split, n, 0))),
        Err(_) => {
            // too far for a conditional jump: go through a JA
            out.push(Insn::Plain(jump(BPF_JGE, split, 0, 1)));
            out.push(Insn::Plain(stmt(BPF_JMP | BPF_JA, left.len() as u32)));
        }
    }
    out.extend(left);
    out.extend(right);
    out
}

/// A jump target inside one condition's code.
#[derive(Clone, Copy)]
enum To {
    /// the next instruction
    Next,
    /// the condition holds: on to the next condition
    Pass,
    /// the condition fails: on to the next rule
    Fail,
}

struct CondInsn {
    f: sock_filter,
    jt: To,
    jf: To,
}

fn plain(f: sock_filter) -> CondInsn {
    CondInsn { f, jt: To::Next, jf: To::Next }
}
fn cj(code: u16, k: u32, jt: To, jf: To) -> CondInsn {
    CondInsn { f: jump(code, k, 0, 0), jt, jf }
}

/// One 64-bit comparison: high word first, then low word.
fn cond_code(c: &Cond) -> Vec<CondInsn> {
    use To::{Fail, Next, Pass};
    let lo_off = OFF_ARGS + 8 * u32::from(c.index);
    let hi_off = lo_off + 4;
    let (vhi, vlo) = ((c.value >> 32) as u32, c.value as u32);
    let (hi, lo) = (plain(load(hi_off)), plain(load(lo_off)));
    match c.op {
        Op::Eq => vec![hi, cj(BPF_JEQ, vhi, Next, Fail), lo, cj(BPF_JEQ, vlo, Pass, Fail)],
        Op::Ne => vec![hi, cj(BPF_JEQ, vhi, Next, Pass), lo, cj(BPF_JEQ, vlo, Fail, Pass)],
        Op::Gt | Op::Ge => {
            let last = if c.op == Op::Gt { BPF_JGT } else { BPF_JGE };
            vec![hi, cj(BPF_JGT, vhi, Pass, Next), cj(BPF_JEQ, vhi, Next, Fail), lo, cj(last, vlo, Pass, Fail)]
        }
        Op::Lt | Op::Le => {
            let last = if c.op == Op::Lt { BPF_JGE } else { BPF_JGT };
            vec![hi, cj(BPF_JGT, vhi, Fail, Next), cj(BPF_JEQ, vhi, Next, Pass), lo, cj(last, vlo, Fail, Pass)]
        }
        Op::MaskedEq => {
            let (mhi, mlo) = (vhi, vlo);
            let (thi, tlo) = ((c.value_two >> 32) as u32, c.value_two as u32);
            vec![
                hi,
                plain(stmt(BPF_ALU | BPF_AND | BPF_K, mhi)),
                cj(BPF_JEQ, thi, Next, Fail),
                lo,
                plain(stmt(BPF_ALU | BPF_AND | BPF_K, mlo)),
                cj(BPF_JEQ, tlo, Pass, Fail),
            ]
        }
    }
}

/// A syscall's argument checks: each conditional rule in turn (all its
/// conditions → its action), then the unconditional action or the default.
fn arg_block(rules: &SyscallRules, default: Action) -> Result<Vec<sock_filter>, SeccompError> {
    let mut out = Vec::new();
    for (conds, act) in &rules.conditional {
        let codes: Vec<Vec<CondInsn>> = conds.iter().map(cond_code).collect();
        let rule_len: usize = codes.iter().map(Vec::len).sum::<usize>() + 1;
        let mut pc = 0;
        for code in &codes {
            let pass_at = pc + code.len();
            for insn in code {
                let off = |t: To| -> Result<u8, SeccompError> {
                    let target = match t {
                        To::Next => pc + 1,
                        To::Pass => pass_at,
                        To::Fail => rule_len,
                    };
                    u8::try_from(target - pc - 1).map_err(|_| SeccompError::TooLong(rule_len))
                };
                let mut f = insn.f;
                f.jt = off(insn.jt)?;
                f.jf = off(insn.jf)?;
                out.push(f);
                pc += 1;
            }
        }
        out.push(ret(act.ret()));
    }
    out.push(ret(rules.unconditional.unwrap_or(default).ret()));
    Ok(out)
}
