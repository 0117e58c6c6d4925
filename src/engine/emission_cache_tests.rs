//! The emission cache of `EMIT CHANGES` aggregations (`cache.max.bytes.buffering`), driven through the engine.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Engine, EngineOptions, Session};
use crate::config::Config;

fn engine(dir: &tempfile::TempDir) -> Arc<Engine> {
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_path_buf();
    Engine::open(EngineOptions {
        config,
        synchronous: true,
        fixed_clock: true,
    })
    .expect("engine")
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

#[test]
fn changes_are_held_back_and_emitted_once_per_group_at_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let mut session = caching_session();
    run(
        &engine,
        &mut session,
        "CREATE STREAM s (k STRING KEY, v BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE TABLE c AS SELECT k, COUNT(*) AS n FROM s GROUP BY k EMIT CHANGES;",
    );
    for (k, v) in [("a", 1), ("a", 2), ("b", 3), ("a", 4), ("b", 5)] {
        run(
            &engine,
            &mut session,
            &format!("INSERT INTO s (k, v) VALUES ('{k}', {v});"),
        );
    }
    assert!(sink_values(&engine, "C").is_empty(), "held back until the checkpoint");
    engine.shutdown();
    assert_eq!(sink_values(&engine, "C"), vec![r#"{"N":3}"#, r#"{"N":2}"#]);
}

#[test]
fn a_held_window_is_emitted_before_retention_evicts_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir);
    let mut session = caching_session();
    run(
        &engine,
        &mut session,
        "CREATE STREAM s (k STRING KEY, v BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE TABLE w AS SELECT k, COUNT(*) AS n FROM s
           WINDOW TUMBLING (SIZE 1 SECOND, RETENTION 2 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY k EMIT CHANGES;",
    );
    run(
        &engine,
        &mut session,
        "INSERT INTO s (ROWTIME, k, v) VALUES (0, 'a', 1);",
    );
    run(
        &engine,
        &mut session,
        "INSERT INTO s (ROWTIME, k, v) VALUES (100, 'a', 1);",
    );
    assert!(sink_values(&engine, "W").is_empty());
    // Stream time 5000 puts the first window past retention: its held row goes out before its state does.
    run(
        &engine,
        &mut session,
        "INSERT INTO s (ROWTIME, k, v) VALUES (5000, 'a', 1);",
    );
    assert_eq!(
        sink_values(&engine, "W").first().map(String::as_str),
        Some(r#"{"N":2}"#)
    );
    engine.shutdown();
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
    engine
        .execute(
            "CREATE STREAM s (k STRING KEY, v BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);",
            &mut session,
        )
        .expect("stream");
    let err = engine
        .execute(
            "CREATE TABLE c AS SELECT k, COUNT(*) AS n FROM s GROUP BY k;",
            &mut session,
        )
        .expect_err("bad property");
    assert!(err.to_string().contains("cache.max.bytes.buffering"), "{err}");
    assert!(engine.catalog().source("C").is_none(), "nothing was created or logged");
}
