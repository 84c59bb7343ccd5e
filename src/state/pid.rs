//! Telling a live process from a recycled pid: its start time.

/// Start time of a process (clock ticks since boot), None if it is gone.
pub fn process_start_time(pid: i32) -> Option<u64> {
    // field 22 of proc_pid_stat(5)
    crate::sys::process::stat_field(&pid.to_string(), 22)
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
