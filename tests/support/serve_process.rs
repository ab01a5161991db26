//! `simdws serve` as a child process, for tests that watch it from outside
//! (its memory, its file descriptors, its CPU time).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use simdws::net::{BlockingClient, ClientError, ClientOptions};

pub struct Serve {
    pub child: Child,
    pub addr: String,
}

impl Serve {
    pub fn start() -> Serve {
        Serve::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_simdws"))
            .args(["serve", "--addr", "127.0.0.1:0", "--workers", "2"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("simdws runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "simdws serving on http://127.0.0.1:PORT/ (...)"
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
            .to_string();
        Serve { child, addr }
    }

    pub fn connect(&self, path: &str, protocols: &[&str]) -> Result<BlockingClient, ClientError> {
        let options = ClientOptions {
            subprotocols: protocols.iter().map(|p| p.to_string()).collect(),
            timeout: Some(Duration::from_secs(10)),
            ..ClientOptions::default()
        };
        BlockingClient::connect_with(&format!("ws://{}{path}", self.addr), options)
    }
}

/// A figure from the server's /proc status, in KiB (e.g. VmHWM, peak RSS).
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

impl Serve {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Open file descriptors of the server process.
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .expect("/proc/PID/fd lists the server's descriptors")
            .count()
    }

    /// CPU time its threads have run so far, from the scheduler's
    /// nanosecond accounting (`/proc/PID/task/*/schedstat`).
    pub fn cpu_time(&self) -> Duration {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid())).unwrap();
        let nanos: u64 = tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Duration::from_nanos(nanos)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
