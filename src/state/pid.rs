//! Telling a live process from a recycled pid: its start time.

/// Start time of a process (clock ticks since boot), None if it is gone.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let path = std::ffi::CString::new(format!("/proc/{pid}/stat")).ok()?;
    // the line is a few hundred bytes (comm is at most 16): one read
    let mut buf = [0u8; 1024];
    let stat = crate::sys::fs::read_once(&path, &mut buf).ok()?;
    // comm may contain spaces: fields after the last ')'.
    let rest = &stat[stat.iter().rposition(|&b| b == b')')? + 2..];
    std::str::from_utf8(rest.split(|&b| b == b' ').nth(19)?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn start_time_of_this_process_and_of_none() {
        let me = std::process::id() as i32;
        let stat = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        let want: u64 = stat[stat.rfind(')').unwrap() + 2..].split(' ').nth(19).unwrap().parse().unwrap();
        assert_eq!(super::process_start_time(me), Some(want));
        assert_eq!(super::process_start_time(i32::MAX), None);
    }
}
