//! `weir migrate`: applies a folder of migrations through a running server's REST API, or lists them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::{AppliedMigration, scan_dir};

/// `weir migrate --info`: applied and pending migrations, as printable lines.
pub fn info(dir: &Path, server: &str) -> Result<Vec<String>, String> {
    let files = scan_dir(dir).map_err(|e| e.to_string())?;
    let body = request(server, "GET", "/migrations", None)?;
    let applied: Vec<AppliedMigration> = serde_json::from_value(body["applied"].clone())
        .map_err(|e| format!("unexpected response from {server}: {e}"))?;
    let mut lines = vec![format!(
        "{:<10} {:<32} {:<10} {:<10} {}",
        "VERSION", "NAME", "STATE", "CHECKSUM", "APPLIED AT"
    )];
    for a in &applied {
        let state = match files.iter().find(|f| f.version == a.version) {
            Some(f) if f.checksum != a.checksum => "CHANGED",
            Some(_) => "APPLIED",
            None => "MISSING",
        };
        let at = chrono::DateTime::from_timestamp_millis(a.applied_at)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        lines.push(format!(
            "{:<10} {:<32} {:<10} {:08x}   {at}",
            a.version, a.name, state, a.checksum
        ));
    }
    for f in files.iter().filter(|f| !applied.iter().any(|a| a.version == f.version)) {
        lines.push(format!(
            "{:<10} {:<32} {:<10} {:08x}",
            f.version, f.name, "PENDING", f.checksum
        ));
    }
    Ok(lines)
}

/// `weir migrate`: sends the folder's migrations; the server applies the pending ones in order.
pub fn apply(dir: &Path, server: &str) -> Result<Vec<String>, String> {
    let files = scan_dir(dir).map_err(|e| e.to_string())?;
    let count = files.len();
    let body = request(server, "POST", "/migrations", Some(&json!({ "files": files })))?;
    let applied: Vec<u64> = serde_json::from_value(body["applied"].clone()).unwrap_or_default();
    let mut lines: Vec<String> = applied.iter().map(|v| format!("applied V{v}")).collect();
    lines.push(format!(
        "{} applied now, {} already applied, {} in {}",
        applied.len(),
        count - applied.len(),
        count,
        dir.display()
    ));
    Ok(lines)
}

/// A blocking HTTP/1.1 request; error responses become their `message`.
fn request(server: &str, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let authority = server
        .trim_end_matches('/')
        .strip_prefix("http://")
        .ok_or_else(|| format!("--server must be an http:// URL, got {server}"))?;
    let mut stream = TcpStream::connect(authority).map_err(|e| format!("cannot reach the server at {server}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
    .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).map_err(|e| e.to_string())?;
    let code: u16 = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map_err(|e| e.to_string())? == 0 || line == "\r\n" {
            break;
        }
    }
    let mut text = String::new();
    reader.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let value: Value = serde_json::from_str(&text).map_err(|_| format!("unexpected response from {server}: {text}"))?;
    if code != 200 {
        return Err(value["message"].as_str().map(str::to_string).unwrap_or(text));
    }
    Ok(value)
}
