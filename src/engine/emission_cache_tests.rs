//! The emission cache of `EMIT CHANGES` aggregations (`cache.max.bytes.buffering`), driven through the engine.
//! Input is written first and processed in one `run_until_idle`, so the query works through a backlog (results
//! are held back) and emits when it has caught up.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Engine, EngineOptions, Session};
use crate::config::Config;

/// An engine with a stream `s (k STRING KEY, v BIGINT)` on a one-partition topic.
fn engine(dir: &tempfile::TempDir) -> Arc<Engine> {
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_path_buf();
    // One record per batch: only the cache coalesces (a batch emits each changed group once anyway).
    config.processing.batch_size = 1;
    let engine = Engine::open(EngineOptions {
        config,
        synchronous: true,
        fixed_clock: true,
    })
    .expect("engine");
    run(
        &engine,
        &mut Session::default(),
        "CREATE STREAM s (k STRING KEY, v BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
    );
    engine
}

fn caching_session() -> Session {
    Session::with_properties(BTreeMap::from([(
        "ksql.streams.cache.max.bytes.buffering".to_string(),
        "1000000".to_string(),
    )]))
}

/// The values written to partition 0 of `topic`, as text.
fn sink_values(engine: &Engine, topic: &str) -> Vec<String> {
    engine
        .topics()
        .read(topic, 0, 0, 1000)
        .expect("read sink")
        .into_iter()
        .map(|r| String::from_utf8_lossy(r.record.value.as_deref().unwrap_or(b"<null>")).into_owned())
        .collect()
}

fn run(engine: &Engine, session: &mut Session, sql: &str) {
    engine.execute(sql, session).expect(sql);
    engine.run_until_idle().expect("run");
}

/// Writes `rows` (`INSERT` value lists for `s`, e.g. `(ROWTIME, k, v) VALUES (0, 'a', 1)`) without processing them.
fn insert(engine: &Engine, session: &mut Session, rows: &[String]) {
    for row in rows {
        let sql = format!("INSERT INTO s {row};");
        engine.execute(&sql, session).expect(&sql);
    }
}

/// A fresh engine with the caching CTAS `sql` running; the directory must outlive the engine.
fn with_cached_table(sql: &str) -> (tempfile::TempDir, Arc<Engine>, Session) {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let mut session = caching_session();
    run(&engine, &mut session, sql);
    (dir, engine, session)
}

#[test]
fn a_backlog_emits_each_group_once_with_its_latest_value() {
    let (_dir, engine, mut session) =
        with_cached_table("CREATE TABLE c AS SELECT k, COUNT(*) AS n FROM s GROUP BY k EMIT CHANGES;");
    let rows: Vec<String> = [("a", 1), ("a", 2), ("b", 3), ("a", 4), ("b", 5)]
        .iter()
        .map(|(k, v)| format!("(k, v) VALUES ('{k}', {v})"))
        .collect();
    insert(&engine, &mut session, &rows);
    engine.run_until_idle().expect("run");
    assert_eq!(sink_values(&engine, "C"), vec![r#"{"N":3}"#, r#"{"N":2}"#]);
    // Without the cache: every update.
    run(
        &engine,
        &mut Session::default(),
        "CREATE TABLE c2 AS SELECT k, COUNT(*) AS n FROM s GROUP BY k EMIT CHANGES;",
    );
    assert_eq!(sink_values(&engine, "C2").len(), 5);
}

#[test]
fn a_held_window_is_emitted_before_retention_evicts_it() {
    let (_dir, engine, mut session) = with_cached_table(
        "CREATE TABLE w AS SELECT k, COUNT(*) AS n FROM s
           WINDOW TUMBLING (SIZE 1 SECOND, RETENTION 2 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k EMIT CHANGES;",
    );
    // Stream time 5000 puts the first window past retention: its held row goes out before its state does.
    let rows: Vec<String> = [0, 100, 5000]
        .iter()
        .map(|t| format!("(ROWTIME, k, v) VALUES ({t}, 'a', 1)"))
        .collect();
    insert(&engine, &mut session, &rows);
    engine.run_until_idle().expect("run");
    assert_eq!(sink_values(&engine, "W"), vec![r#"{"N":2}"#, r#"{"N":1}"#]);
}

#[test]
fn a_bad_cache_size_is_refused_with_the_property_named() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let mut session = Session::with_properties(BTreeMap::from([(
        "cache.max.bytes.buffering".to_string(),
        "lots".to_string(),
    )]));
    let err = engine
        .execute(
            "CREATE TABLE c AS SELECT k, COUNT(*) AS n FROM s GROUP BY k;",
            &mut session,
        )
        .expect_err("bad property");
    assert!(err.to_string().contains("cache.max.bytes.buffering"), "{err}");
    assert!(engine.catalog().source("C").is_none(), "nothing was created or logged");
}
