//! Running cases: a fresh engine per case, statements, inputs one at a time, then the comparison.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use super::compare::matches;
use super::file::{RecordSpec, TestCase, WindowSpec, load_cases};
use super::records::{from_bytes, to_bytes};
use crate::catalog::{FormatSpec, SourceDef};
use crate::config::Config;
use crate::engine::{Engine, EngineOptions, Session};
use crate::topics::{Record, TopicSpec};
use crate::types::{ColumnKind, SqlType};

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub name: String,
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub message: String,
}

/// Runs every case under `paths`, printing one line per failure and the summary line; returns (passed, failed).
pub fn run_paths(paths: &[PathBuf], verbose: bool) -> Result<(usize, usize), String> {
    let cases = load_cases(paths)?;
    let (mut passed, mut failed) = (0, 0);
    for case in &cases {
        let outcome = run_case(case);
        if outcome.passed {
            passed += 1;
            if verbose {
                println!("PASS {}", outcome.name);
            }
        } else {
            failed += 1;
            println!("FAIL {}: {}", outcome.name, outcome.message);
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok((passed, failed))
}

/// Runs one case in a fresh engine with its own temporary data directory.
pub fn run_case(case: &TestCase) -> CaseOutcome {
    let name = if case.origin.is_empty() {
        case.name.clone()
    } else {
        case.origin.clone()
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(case)));
    let (passed, message) = match result {
        Ok(Ok(())) => (true, String::new()),
        Ok(Err(m)) => (false, m),
        Err(p) => {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            (false, format!("PANIC: {what}"))
        }
    };
    CaseOutcome { name, passed, message }
}

fn execute(case: &TestCase) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_path_buf();
    config.storage.fsync = crate::config::FsyncMode::Never;
    config.processing.batch_size = 1;
    let engine = Engine::open(EngineOptions {
        config,
        synchronous: true,
        fixed_clock: true,
    })
    .map_err(|e| format!("engine failed to start: {e}"))?;

    let mut session = Session::with_properties(
        case.properties
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
    );
    let expected_error = case
        .expected_exception
        .as_ref()
        .map(|e| e.message.clone().unwrap_or_default());

    for statement in &case.statements {
        if let Err(e) = engine.execute(statement, &mut session) {
            let message = e.to_string();
            return match &expected_error {
                Some(expected) if message.contains(expected.as_str()) => Ok(()),
                Some(expected) => Err(format!(
                    "expected an error containing \"{expected}\" but got \"{message}\" from `{statement}`"
                )),
                None => Err(format!("statement failed: `{statement}`: {message}")),
            };
        }
    }

    for input in &case.inputs {
        feed(&engine, input)?;
        if let Err(e) = engine.run_until_idle() {
            let message = e.to_string();
            return match &expected_error {
                Some(expected) if message.contains(expected.as_str()) => Ok(()),
                _ => Err(format!("processing failed: {message}")),
            };
        }
    }
    if let Some(expected) = expected_error {
        return Err(format!(
            "expected an error containing \"{expected}\" but every statement succeeded"
        ));
    }
    compare_outputs(&engine, &case.outputs)
}

/// The source whose formats describe a topic: for outputs the one a query writes (a sink), for inputs a declared
/// one; otherwise any source over the topic.
fn owner_of(engine: &Engine, topic: &str, output: bool) -> Option<SourceDef> {
    let catalog = engine.catalog();
    let over: Vec<&SourceDef> = catalog.sources().filter(|s| s.topic == topic).collect();
    over.iter()
        .find(|s| s.created_by.is_some() == output)
        .or_else(|| over.first())
        .map(|s| (*s).clone())
}

fn columns(def: &SourceDef, kind: ColumnKind) -> Vec<(String, SqlType)> {
    def.schema
        .columns()
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| (c.name.clone(), c.ty.clone()))
        .collect()
}

fn feed(engine: &Arc<Engine>, input: &RecordSpec) -> Result<(), String> {
    let store = engine.topics();
    if store.describe_topic(&input.topic).map_err(|e| e.to_string())?.is_none() {
        store
            .create_topic(
                &input.topic,
                TopicSpec {
                    partitions: 1,
                    replicas: 1,
                },
            )
            .map_err(|e| e.to_string())?;
    }
    let (key_format, value_format, key_cols, value_cols) = match owner_of(engine, &input.topic, false) {
        Some(def) => (
            def.key_format.clone(),
            def.value_format.clone(),
            columns(&def, ColumnKind::Key),
            columns(&def, ColumnKind::Value),
        ),
        None => (FormatSpec::named("KAFKA"), FormatSpec::named("JSON"), vec![], vec![]),
    };
    // Keyless sources still receive whatever key the case gives, as ksqlDB's test tool writes it (a string).
    let key = if key_format.format == "NONE" {
        to_bytes(&input.key, &FormatSpec::named("KAFKA"), &[])?
    } else {
        to_bytes(&input.key, &key_format, &key_cols)?
    };
    let value = to_bytes(&input.value, &value_format, &value_cols)?;
    let record = Record {
        timestamp: input.timestamp.unwrap_or(0),
        key,
        value,
        headers: vec![],
    };
    store
        .append(&input.topic, 0, std::slice::from_ref(&record), None)
        .map_err(|e| e.to_string())?;
    Ok(())
}

struct Produced {
    key: Value,
    value: Value,
    timestamp: i64,
    window: Option<WindowSpec>,
}

/// Splits a windowed record key into the key bytes and its window, as Kafka Streams serializes them: a time
/// window appends its start (8 bytes), a session appends its end and start.
fn split_windowed(key: &[u8], window: &crate::catalog::WindowInfo) -> Option<(Vec<u8>, WindowSpec)> {
    let long = |b: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(b.try_into().ok()?)) };
    if window.kind == "SESSION" {
        let split = key.len().checked_sub(16)?;
        let end = long(&key[split..split + 8])?;
        let start = long(&key[split + 8..])?;
        Some((
            key[..split].to_vec(),
            WindowSpec {
                start,
                end,
                kind: "session".into(),
            },
        ))
    } else {
        let split = key.len().checked_sub(8)?;
        let start = long(&key[split..])?;
        let end = start + window.size_ms.unwrap_or(0);
        Some((
            key[..split].to_vec(),
            WindowSpec {
                start,
                end,
                kind: "time".into(),
            },
        ))
    }
}

fn compare_outputs(engine: &Arc<Engine>, outputs: &[RecordSpec]) -> Result<(), String> {
    let mut expected_by_topic: BTreeMap<&str, Vec<&RecordSpec>> = BTreeMap::new();
    for o in outputs {
        expected_by_topic.entry(o.topic.as_str()).or_default().push(o);
    }
    for (topic, expected) in expected_by_topic {
        let actual = read_topic(engine, topic)?;
        if actual.len() != expected.len() {
            let shown: Vec<String> = actual
                .iter()
                .map(|p| {
                    let w = p
                        .window
                        .as_ref()
                        .map(|w| format!(" [{}, {}]", w.start, w.end))
                        .unwrap_or_default();
                    format!("<{}, {}> @{}{w}", p.key, p.value, p.timestamp)
                })
                .collect();
            return Err(format!(
                "Topic {topic}. Expected {} records but it was {}: [{}]",
                expected.len(),
                actual.len(),
                shown.join(", ")
            ));
        }
        for (i, (e, a)) in expected.iter().zip(&actual).enumerate() {
            let key_ok = matches(&e.key, &a.key);
            let value_ok = matches(&e.value, &a.value);
            let ts_ok = e.timestamp.is_none_or(|t| t == a.timestamp);
            let window_ok = match (&e.window, &a.window) {
                (None, _) => true,
                (Some(ew), Some(aw)) => {
                    ew.start == aw.start && ew.end == aw.end && ew.kind.eq_ignore_ascii_case(&aw.kind)
                }
                (Some(_), None) => false,
            };
            if !(key_ok && value_ok && ts_ok && window_ok) {
                let show = |w: &Option<WindowSpec>| match w {
                    Some(w) => format!(" window=[{}, {}] {}", w.start, w.end, w.kind),
                    None => String::new(),
                };
                return Err(format!(
                    "Topic '{topic}', message {i}: Expected <{}, {}> with timestamp={}{} but was <{}, {}> with timestamp={}{}",
                    e.key,
                    e.value,
                    e.timestamp.map(|t| t.to_string()).unwrap_or_else(|| "any".into()),
                    show(&e.window),
                    a.key,
                    a.value,
                    a.timestamp,
                    show(&a.window)
                ));
            }
        }
    }
    Ok(())
}

fn read_topic(engine: &Arc<Engine>, topic: &str) -> Result<Vec<Produced>, String> {
    let store = engine.topics();
    let Some(info) = store.describe_topic(topic).map_err(|e| e.to_string())? else {
        return Ok(vec![]);
    };
    let owner = owner_of(engine, topic, true);
    let (key_format, value_format, key_cols, value_cols) = match &owner {
        Some(def) => (
            def.key_format.clone(),
            def.value_format.clone(),
            columns(def, ColumnKind::Key),
            columns(def, ColumnKind::Value),
        ),
        None => (FormatSpec::named("KAFKA"), FormatSpec::named("JSON"), vec![], vec![]),
    };
    let mut out = Vec::new();
    for p in 0..info.partitions {
        let mut offset = 0;
        loop {
            let batch = store.read(topic, p, offset, 1000).map_err(|e| e.to_string())?;
            let Some(last) = batch.last() else { break };
            offset = last.offset + 1;
            for r in batch {
                let windowed = match (owner.as_ref().and_then(|o| o.window.as_ref()), r.record.key.as_deref()) {
                    (Some(w), Some(k)) => split_windowed(k, w),
                    _ => None,
                };
                let (key, window) = match windowed {
                    Some((k, w)) => (from_bytes(Some(&k), &key_format, &key_cols), Some(w)),
                    None => (from_bytes(r.record.key.as_deref(), &key_format, &key_cols), None),
                };
                out.push(Produced {
                    key,
                    value: from_bytes(r.record.value.as_deref(), &value_format, &value_cols),
                    timestamp: r.record.timestamp,
                    window,
                });
            }
        }
    }
    Ok(out)
}
