//! The stateful phases of `weir bench`, run the way `weir serve` runs queries (one thread per query, checkpoints at
//! the commit interval): windowed aggregates over the bid events, the memory a million-key aggregate takes, and the
//! latency of pull queries over REST on that million-key view.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::BenchArgs;
use crate::config::{Config, FsyncMode};
use crate::engine::{Engine, EngineOptions, Session, StatementResult};
use crate::server::rest;
use crate::topics::{Record, TopicSpec};

/// Event time (record timestamp) of the `i`-th bid: a stream of 100,000 events per second. Event time that moves
/// about as fast as the query processes is what a live stream looks like; spreading the events over hours of event
/// time would make nearly every event open new windows, which measures window creation, not aggregation.
fn bid_time(i: usize) -> i64 {
    1_700_000_000_000 + i as i64 / 100
}

/// The `date_time` field of the `i`-th bid (see [`super::bid_event`]): unique per event, the million-key column.
fn bid_date_time(i: usize) -> i64 {
    1_700_000_000_000 + i as i64 * 10
}

/// Runs the stateful phases over `events`, comparing each rate with `decode_rate`, the decode-only ceiling.
pub fn run(events: &[Bytes], dir: &Path, decode_rate: f64, args: &BenchArgs) -> Result<(), String> {
    let mut config = Config::default();
    config.storage.data_dir = dir.to_path_buf();
    config.storage.fsync = FsyncMode::Never;
    // The server's default commit interval (ksqlDB's too): how often changed groups are written out.
    let commit_interval_ms = config.processing.commit_interval_ms;
    let engine = Engine::open(EngineOptions {
        config: config.clone(),
        synchronous: false,
        fixed_clock: false,
    })
    .map_err(|e| e.to_string())?;
    let outcome = phases(&engine, config, events, decode_rate, commit_interval_ms, args);
    engine.shutdown();
    outcome
}

fn phases(
    engine: &Arc<Engine>,
    config: Config,
    events: &[Bytes],
    decode_rate: f64,
    commit_interval_ms: u64,
    args: &BenchArgs,
) -> Result<(), String> {
    let store = engine.topics().clone();
    store
        .create_topic(
            "bids",
            TopicSpec {
                partitions: 1,
                replicas: 1,
            },
        )
        .map_err(|e| e.to_string())?;
    for (chunk_index, chunk) in events.chunks(1000).enumerate() {
        let records: Vec<Record> = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| Record {
                timestamp: bid_time(chunk_index * 1000 + i),
                key: None,
                value: Some(v.clone()),
                headers: vec![],
            })
            .collect();
        store.append("bids", 0, &records, None).map_err(|e| e.to_string())?;
    }
    store.flush().map_err(|e| e.to_string())?;
    let mut session = Session::default();
    engine
        .execute(
            "CREATE STREAM bids (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, date_time BIGINT, extra STRING) WITH (kafka_topic='bids', value_format='JSON');",
            &mut session,
        )
        .map_err(|e| e.to_string())?;
    let n = events.len() as u64;
    let span_s = events.len() as f64 / 100_000.0;
    println!(
        "stateful queries (threaded runtime, commit interval {commit_interval_ms} ms; 100,000 events/s of event time, {span_s:.0} s in all):"
    );

    // (phase, label, query): the windowed aggregates over 10,000 auctions.
    let windowed = [
        (
            "tumbling",
            "tumbling COUNT+MAX, 10,000 keys",
            "CREATE TABLE auction_stats AS SELECT auction, COUNT(*) AS bids, MAX(price) AS max_price FROM bids WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 1 SECOND) GROUP BY auction;",
        ),
        (
            "hopping",
            "hopping COUNT (10 windows/event)",
            "CREATE TABLE auction_hops AS SELECT auction, COUNT(*) AS bids FROM bids WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 1 SECOND, GRACE PERIOD 1 SECOND) GROUP BY auction;",
        ),
    ];
    for (phase, label, sql) in windowed {
        if args.runs(phase) {
            let rate = run_query(engine, &mut session, n, sql)?;
            report(label, rate, decode_rate);
        }
    }
    if !args.runs("keys") {
        return Ok(());
    }

    // One key per event: state, view and output for a million keys when run with the default 1,000,000 events.
    let before = resident_bytes();
    let per_bid = run_query(
        engine,
        &mut session,
        n,
        "CREATE TABLE per_bid AS SELECT date_time, COUNT(*) AS bids, MAX(price) AS max_price FROM bids GROUP BY date_time;",
    )?;
    report(&format!("COUNT+MAX, {n} keys"), per_bid, decode_rate);
    let processed = resident_bytes();
    std::thread::sleep(Duration::from_millis(commit_interval_ms * 2));
    let checkpointed = resident_bytes();
    if let (Some(before), Some(processed), Some(checkpointed)) = (before, processed, checkpointed) {
        let mb = |b: u64| b.saturating_sub(before) as f64 / 1e6;
        println!(
            "  memory for {n} keys: +{:.0} MB resident after processing, +{:.0} MB after its checkpoint",
            mb(processed),
            mb(checkpointed)
        );
    }
    pull_latency(engine, config, events.len())
}

/// Starts the CTAS `sql` and waits until its query has consumed `n` records; returns events/s.
fn run_query(engine: &Arc<Engine>, session: &mut Session, n: u64, sql: &str) -> Result<f64, String> {
    let start = Instant::now();
    let results = engine.execute(sql, session).map_err(|e| e.to_string())?;
    let query_id = results
        .iter()
        .find_map(|r| match r {
            StatementResult::Status(s) => s.query_id.clone(),
            _ => None,
        })
        .ok_or_else(|| format!("no query started by `{sql}`"))?;
    loop {
        let consumed = engine.records_consumed(&query_id).unwrap_or(0);
        if consumed >= n {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            return Err(format!(
                "{query_id} consumed only {consumed} of {n} records in 10 minutes"
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(n as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

fn report(name: &str, rate: f64, decode_rate: f64) {
    println!(
        "  {name:<34} {rate:>12.0} events/s  ({:.0}% of decode-only)",
        100.0 * rate / decode_rate
    );
}

/// The process's resident set size, where `/proc` tells it.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Serves REST on a free local port and times single-key pull queries on `PER_BID` over one keep-alive connection.
fn pull_latency(engine: &Arc<Engine>, config: Config, keys: usize) -> Result<(), String> {
    const QUERIES: usize = 2000;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = rest::AppState::new(config);
    state.set_engine(engine.clone());
    let app = rest::router(state.clone());
    let shutdown = state.shutdown_signal();
    let server = runtime.spawn(async move { axum::serve(listener, app).with_graceful_shutdown(shutdown).await });

    let mut conn = HttpConnection::open(&addr.to_string())?;
    let mut latencies = Vec::with_capacity(QUERIES);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for q in 0..QUERIES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = bid_date_time((x % keys.max(1) as u64) as usize);
        let body = format!(r#"{{"ksql":"SELECT * FROM per_bid WHERE date_time = {key};","streamsProperties":{{}}}}"#);
        let start = Instant::now();
        let (status, response) = conn.post("/query", &body)?;
        latencies.push(start.elapsed());
        if status != 200 || (q == 0 && !response.contains(&format!("[{key},"))) {
            return Err(format!("pull query for key {key} answered {status}: {response}"));
        }
    }
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "  REST pull query, one key of {keys}: median {:.2} ms, p99 {:.2} ms ({QUERIES} queries, one connection)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    );
    state.stop();
    let _ = runtime.block_on(server);
    Ok(())
}

/// A minimal HTTP/1.1 keep-alive client: enough to time requests without a client library's overhead.
struct HttpConnection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl HttpConnection {
    fn open(addr: &str) -> Result<Self, String> {
        let stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        Ok(HttpConnection {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one POST and reads the whole response (fixed length or chunked); returns the status and body.
    fn post(&mut self, path: &str, body: &str) -> Result<(u16, String), String> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/vnd.ksql.v1+json\r\nAccept: application/vnd.ksql.v1+json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        let status_line = self.line()?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let (mut length, mut chunked) = (None, false);
        loop {
            let header = self.line()?;
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((&header, ""));
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
        let mut out = Vec::new();
        if chunked {
            loop {
                let size_line = self.line()?;
                let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|_| format!("bad chunk size {size_line:?}"))?;
                if size == 0 {
                    while !self.line()?.is_empty() {}
                    break;
                }
                let start = out.len();
                out.resize(start + size, 0);
                self.reader.read_exact(&mut out[start..]).map_err(|e| e.to_string())?;
                self.line()?;
            }
        } else if let Some(length) = length {
            out.resize(length, 0);
            self.reader.read_exact(&mut out).map_err(|e| e.to_string())?;
        }
        Ok((status, String::from_utf8_lossy(&out).into_owned()))
    }

    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
