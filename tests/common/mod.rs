//! Helpers for end-to-end tests: start the real `weir` binary on free ports with its own data directory, and talk
//! to it over HTTP/1.1 with a minimal client (so the tests need nothing but the standard library).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `weir serve` process.
pub struct Server {
    pub child: Child,
    pub rest_port: u16,
    pub pg_port: u16,
    pub data_dir: PathBuf,
    log_path: PathBuf,
}

/// A port that was free a moment ago, on 127.0.0.1.
/// A free local port, never one this test process handed out before (two picks in a row can otherwise get the
/// same port back from the kernel, e.g. the REST and Postgres ports of one server).
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("no free port");
        let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

impl Server {
    /// Starts a server over `data_dir` and waits until `/healthcheck` says it is ready.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with_env(data_dir, &[])
    }

    pub fn start_with_env(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        let rest_port = free_port();
        let pg_port = free_port();
        let log_path = data_dir.with_extension(format!("log-{rest_port}"));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_weir"));
        cmd.arg("serve")
            .env("WEIR_STORAGE__DATA_DIR", data_dir)
            .env("WEIR_SERVER__REST_LISTEN", format!("127.0.0.1:{rest_port}"))
            .env("WEIR_SERVER__PG_LISTEN", format!("127.0.0.1:{pg_port}"))
            .env("WEIR_PROCESSING__COMMIT_INTERVAL_MS", "200")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start weir");
        let mut server = Server {
            child,
            rest_port,
            pg_port,
            data_dir: data_dir.to_path_buf(),
            log_path,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("weir exited early with {status}:\n{}", self.log());
            }
            if let Ok((200, _)) = http(self.rest_port, "GET", "/healthcheck", None) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("weir did not become healthy:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// POST /ksql with one or more statements; returns (status, parsed JSON body).
    pub fn ksql(&self, sql: &str) -> (u16, serde_json::Value) {
        let body = serde_json::json!({"ksql": sql, "streamsProperties": {}}).to_string();
        let (status, text) = http(self.rest_port, "POST", "/ksql", Some(&body)).expect("POST /ksql");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    /// Like [`Server::ksql`] but fails the test on an error response.
    pub fn ksql_ok(&self, sql: &str) -> serde_json::Value {
        let (status, body) = self.ksql(sql);
        assert_eq!(status, 200, "statement failed: {sql}\n{body:#}");
        body
    }

    /// SIGKILL: no shutdown hooks, no flush.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("weir did not stop on SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP/1.1 request with `Connection: close`; returns (status, body). Handles chunked responses.
pub fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut out = String::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut buf = vec![0; n];
            reader.read_exact(&mut buf)?;
            out.push_str(&String::from_utf8_lossy(&buf));
            let mut crlf = [0; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else {
        reader.read_to_string(&mut out)?;
    }
    Ok((status, out))
}

/// Polls `f` until it returns `Some`, or panics after `timeout` with `what`.
pub fn eventually<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
