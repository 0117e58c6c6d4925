//! `weir bench`: throughput on generated Nexmark-style bid events (JSON, about 250 bytes each).
//!
//! One run reports, on the embedded log: the append rate, the decode-only rate (bytes to Arrow, the ceiling of
//! any query), and a stateless `CREATE STREAM ... AS SELECT` (filter on price, arithmetic projection) end to end.
//! With `--kafka BOOTSTRAP` it runs the same phases again with the topics on that Kafka cluster (fresh topic names
//! and service id per run) and reports the records consumed and produced per second by the CSAS, next to the
//! embedded figures. Figures are events per second on one core (each phase runs on one thread).
//! The stateful phases (windowed aggregates, memory for a million keys, REST pull latency) are in [`stateful`] and
//! run on the embedded log.

mod stateful;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::config::{Config, FsyncMode};
use crate::engine::{Engine, EngineOptions, Session};
use crate::format::{Decoder, FormatOptions};
use crate::topics::{Record, TopicSpec, TopicStore};
use crate::types::SqlType;

/// Read+decode passes over the data; the fastest is the ceiling the queries are compared with.
const DECODE_PASSES: usize = 3;

/// Options of `weir bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Number of bid events to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Where to put the data (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
    /// Also run the phases with the topics on this Kafka cluster (`host:port,...`).
    #[arg(long, value_name = "BOOTSTRAP")]
    pub kafka: Option<String>,
    /// Run only these phases (comma-separated: csas, tumbling, hopping, keys; `keys` includes the pull-query
    /// latency). The decode-only ceiling always runs. Default: all.
    #[arg(long, value_delimiter = ',', value_parser = ["csas", "tumbling", "hopping", "keys"])]
    pub only: Vec<String>,
}

impl BenchArgs {
    /// Whether the phase `name` runs.
    pub fn runs(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == name)
    }
}

/// Generates the `i`-th bid event (deterministic).
pub fn bid_event(i: u64) -> String {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let auction = 1000 + next() % 10_000;
    let bidder = 2000 + next() % 100_000;
    let price = 1 + next() % 100_000;
    let channels = ["Google", "Facebook", "Baidu", "Apple"];
    let channel = channels[(next() % 4) as usize];
    let date_time = 1_700_000_000_000u64 + i * 10;
    format!(
        "{{\"auction\":{auction},\"bidder\":{bidder},\"price\":{price},\"channel\":\"{channel}\",\"url\":\"https://www.nexmark.com/{channel}/item.htm?query=1&channel_id={}\",\"date_time\":{date_time},\"extra\":\"{:016x}{:016x}{:016x}\"}}",
        next() % 1_000_000,
        next(),
        next(),
        next()
    )
}

fn bid_columns() -> Vec<(String, SqlType)> {
    vec![
        ("AUCTION".into(), SqlType::BigInt),
        ("BIDDER".into(), SqlType::BigInt),
        ("PRICE".into(), SqlType::BigInt),
        ("CHANNEL".into(), SqlType::String),
        ("URL".into(), SqlType::String),
        ("DATE_TIME".into(), SqlType::BigInt),
        ("EXTRA".into(), SqlType::String),
    ]
}

fn rate(n: usize, start: Instant) -> f64 {
    n as f64 / start.elapsed().as_secs_f64().max(1e-9)
}

/// Runs the benchmark and prints the figures.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let n = args.events;
    let events: Vec<Bytes> = (0..n as u64).map(|i| Bytes::from(bid_event(i))).collect();
    let avg = events.iter().map(|e| e.len()).sum::<usize>() / n.max(1);
    println!("events: {n} Nexmark bids, {avg} bytes each on average");
    println!("== embedded log ==");
    let embedded = run_on(&events, dir.join("embedded"), None, args)?;
    stateful::run(&events, &dir.join("stateful"), embedded.decode, args)?;
    if let Some(bootstrap) = &args.kafka {
        println!("== Kafka at {bootstrap} ==");
        let kafka = run_on(&events, dir.join("kafka"), Some(bootstrap), args)?;
        println!(
            "CSAS through Kafka: {:.0} records/s consumed, {:.0} records/s produced (embedded log: {:.0} consumed, {:.0} produced)",
            kafka.consumed, kafka.produced, embedded.consumed, embedded.produced
        );
    }
    Ok(())
}

/// What a CSAS run moved, per second.
struct CsasRates {
    /// Read+decode only: the ceiling the query rates are compared with.
    decode: f64,
    consumed: f64,
    produced: f64,
}

/// The three phases on one topic store: the embedded log in `dir`, or the Kafka cluster at `kafka`.
fn run_on(
    events: &[Bytes],
    dir: std::path::PathBuf,
    kafka: Option<&str>,
    args: &BenchArgs,
) -> Result<CsasRates, String> {
    let mut config = Config::default();
    config.storage.data_dir = dir.clone();
    config.storage.fsync = FsyncMode::Never;
    // On a cluster that outlives the run, every run gets its own topics and command topic.
    let prefix = match kafka {
        Some(bootstrap) => {
            let run = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0);
            config.kafka.bootstrap_servers = bootstrap.to_owned();
            config.server.service_id = format!("bench_{run}_");
            format!("bench_{run}_")
        }
        None => String::new(),
    };
    let bids = format!("{prefix}bids");
    let sink = format!("{prefix}EXPENSIVE_BIDS");
    let engine = Engine::open(EngineOptions {
        config,
        synchronous: true,
        fixed_clock: false,
    })
    .map_err(|e| e.to_string())?;
    let store: Arc<dyn TopicStore> = engine.topics().clone();
    store
        .create_topic(
            &bids,
            TopicSpec {
                partitions: 1,
                replicas: 1,
            },
        )
        .map_err(|e| e.to_string())?;
    let n = events.len();

    // 1. Appends, in batches of 1,000 records.
    let start = Instant::now();
    for chunk in events.chunks(1000) {
        let records: Vec<Record> = chunk
            .iter()
            .enumerate()
            .map(|(i, v)| Record {
                timestamp: 1_700_000_000_000 + i as i64,
                key: None,
                value: Some(v.clone()),
                headers: vec![],
            })
            .collect();
        store.append(&bids, 0, &records, None).map_err(|e| e.to_string())?;
    }
    store.flush().map_err(|e| e.to_string())?;
    let append_rate = rate(n, start);
    println!("append:       {:>12.0} events/s", append_rate);

    // 2. Decode only: read back and decode into Arrow batches of 1,024 rows. The best of three passes is the
    // ceiling, so a pass slowed by a noisy neighbour does not flatter the ratios below.
    let options = FormatOptions::parse("JSON", None, None).map_err(|e| e.to_string())?;
    let mut decoder = Decoder::new(&options, &bid_columns(), false).map_err(|e| e.to_string())?;
    let mut decode_rate: f64 = 0.0;
    for _ in 0..DECODE_PASSES {
        let start = Instant::now();
        let mut offset = 0;
        let mut decoded = 0;
        loop {
            let batch = store.read(&bids, 0, offset, 1024).map_err(|e| e.to_string())?;
            let Some(last) = batch.last() else { break };
            offset = last.offset + 1;
            let payloads: Vec<Option<&[u8]>> = batch.iter().map(|r| r.record.value.as_deref()).collect();
            let out = decoder.decode(&payloads);
            if !out.errors.is_empty() {
                return Err(format!("benchmark data failed to decode: {:?}", out.errors.first()));
            }
            decoded += payloads.len();
        }
        decode_rate = decode_rate.max(rate(decoded, start));
    }
    println!("read+decode:  {decode_rate:>12.0} events/s  (the ceiling: best of {DECODE_PASSES} passes)");

    if !args.runs("csas") {
        engine.shutdown();
        return Ok(CsasRates {
            decode: decode_rate,
            consumed: 0.0,
            produced: 0.0,
        });
    }
    // 3. A stateless CSAS end to end: read, decode, filter, project, encode, append.
    let mut session = Session::default();
    engine
        .execute(
            &format!("CREATE STREAM bids (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, date_time BIGINT, extra STRING) WITH (kafka_topic='{bids}', value_format='JSON');"),
            &mut session,
        )
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    engine
        .execute(
            &format!("CREATE STREAM expensive_bids WITH (kafka_topic='{sink}') AS SELECT auction, bidder, price * 0.908 AS euro_price, channel, date_time FROM bids WHERE price > 50000;"),
            &mut session,
        )
        .map_err(|e| e.to_string())?;
    engine.run_until_idle().map_err(|e| e.to_string())?;
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    let csas_rate = n as f64 / seconds;
    // The query's own count: a broker's reported end offset is not always exact (Tansu 0.6 reports less).
    let produced = records_produced(&engine, &mut session)?;
    println!(
        "CSAS filter+project: {:>12.0} events/s consumed, {:.0} records/s produced ({:.0}% of read+decode; {produced} of {n} events passed the filter)",
        csas_rate,
        produced as f64 / seconds,
        100.0 * csas_rate / decode_rate
    );
    engine.shutdown();
    Ok(CsasRates {
        decode: decode_rate,
        consumed: csas_rate,
        produced: produced as f64 / seconds,
    })
}

/// `records-produced` from `EXPLAIN` of the benchmark's query.
fn records_produced(engine: &Engine, session: &mut Session) -> Result<u64, String> {
    let results = engine
        .execute("EXPLAIN CSAS_EXPENSIVE_BIDS_1;", session)
        .map_err(|e| e.to_string())?;
    let Some(crate::engine::StatementResult::QueryDescription(description)) = results.first() else {
        return Err("EXPLAIN returned no query description".into());
    };
    description
        .statistics
        .split(", ")
        .find_map(|kv| kv.strip_prefix("records-produced: "))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no records-produced in '{}'", description.statistics))
}
