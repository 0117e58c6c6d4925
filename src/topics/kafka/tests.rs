//! [`KafkaStore`] against librdkafka's mock cluster: the same contract the embedded log's tests pin.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{KafkaStore, MockKafka};
use crate::config::KafkaConfig;
use crate::topics::{Created, Header, PartitionOffsets, Record, TopicError, TopicSpec, TopicStore};

fn spec(partitions: u32) -> TopicSpec {
    TopicSpec {
        partitions,
        replicas: 1,
    }
}

fn config() -> KafkaConfig {
    let mut config = KafkaConfig {
        request_timeout_ms: 5_000,
        ..KafkaConfig::default()
    };
    config
        .properties
        .insert("consumer.fetch.wait.max.ms".into(), "10".into());
    config
}

/// A store on a fresh mock cluster, and the cluster (for a second store on the same cluster).
fn store() -> (KafkaStore, Arc<MockKafka>) {
    let mock = Arc::new(MockKafka::start(1).unwrap());
    (KafkaStore::connect_mock(&config(), Arc::clone(&mock)).unwrap(), mock)
}

/// Everything from `offset` to the end (one read may return fewer records than asked for).
fn read_all(store: &KafkaStore, topic: &str, partition: u32, mut offset: i64) -> Vec<crate::topics::ConsumedRecord> {
    let mut out = Vec::new();
    loop {
        let batch = store.read(topic, partition, offset, 1000).unwrap();
        let Some(last) = batch.last() else { return out };
        offset = last.offset + 1;
        out.extend(batch);
    }
}

fn record(timestamp: i64, key: Option<&str>, value: Option<&str>) -> Record {
    Record {
        timestamp,
        key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
        value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
        headers: vec![],
    }
}

#[test]
fn records_round_trip_with_keys_tombstones_headers_and_timestamps() {
    let (store, _mock) = store();
    store.create_topic("t", spec(3)).unwrap();
    let mut with_headers = record(1_700_000_000_123, Some("k2"), Some(""));
    with_headers.headers = vec![
        Header {
            key: "h1".into(),
            value: Some(Bytes::from_static(b"v1")),
        },
        Header {
            key: "h2".into(),
            value: None,
        },
    ];
    let records = vec![
        record(0, Some("k1"), Some("{\"a\":1}")),
        record(5, None, Some("no key")),
        record(7, Some("gone"), None),
        with_headers,
        record(i64::from(i32::MAX) * 1000, Some("late"), Some("v")),
    ];
    assert_eq!(store.append("t", 1, &records, Some(b"ignored")).unwrap(), 0);
    assert_eq!(store.append("t", 1, &records[..1], None).unwrap(), 5);
    let read = read_all(&store, "t", 1, 0);
    assert_eq!(read.len(), 6);
    for (i, r) in read.iter().enumerate() {
        assert_eq!((&*r.topic, r.partition, r.offset), ("t", 1, i as i64));
    }
    let got: Vec<Record> = read.into_iter().map(|r| r.record).collect();
    assert_eq!(&got[..5], &records[..]);
    assert_eq!(got[5], records[0]);
    // The other partitions are untouched; no batch metadata on Kafka.
    assert_eq!(store.offsets("t", 0).unwrap(), PartitionOffsets { earliest: 0, end: 0 });
    assert_eq!(store.offsets("t", 1).unwrap(), PartitionOffsets { earliest: 0, end: 6 });
    assert!(store.batch_metadata("t", 1, 0).unwrap().is_empty());
}

#[test]
fn reads_are_random_access() {
    let (store, _mock) = store();
    store.create_topic("t", spec(1)).unwrap();
    let records: Vec<Record> = (0..50).map(|i| record(i + 1, None, Some(&i.to_string()))).collect();
    store.append("t", 0, &records, None).unwrap();
    let value =
        |r: &crate::topics::ConsumedRecord| String::from_utf8_lossy(r.record.value.as_deref().unwrap()).to_string();
    // Sequential small reads reuse one positioned reader.
    let mut offset = 0;
    let mut seen = Vec::new();
    while let Some(last) = store
        .read("t", 0, offset, 7)
        .unwrap()
        .into_iter()
        .inspect(|r| seen.push(value(r)))
        .last()
    {
        offset = last.offset + 1;
    }
    assert_eq!(seen, (0..50).map(|i: i32| i.to_string()).collect::<Vec<_>>());
    // Jumps backwards and forwards.
    assert_eq!(value(&store.read("t", 0, 10, 1).unwrap()[0]), "10");
    assert_eq!(value(&store.read("t", 0, 3, 1).unwrap()[0]), "3");
    assert_eq!(value(&store.read("t", 0, 49, 5).unwrap()[0]), "49");
    // The end reads empty at once; past the end reads empty until the consumer reports the offset out of range.
    let started = Instant::now();
    assert!(store.read("t", 0, 50, 5).unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_secs(1));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match store.read("t", 0, 51, 5) {
            Ok(records) if records.is_empty() && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(TopicError::OffsetOutOfRange {
                offset: 51, end: 50, ..
            }) => break,
            other => panic!("reading past the end: {other:?}"),
        }
    }
}

#[test]
fn unknown_topics_and_partitions_are_errors() {
    let (store, _mock) = store();
    store.create_topic("t", spec(2)).unwrap();
    assert!(matches!(store.read("nope", 0, 0, 1), Err(TopicError::UnknownTopic(_))));
    assert!(matches!(
        store.append("nope", 0, &[record(1, None, Some("x"))], None),
        Err(TopicError::UnknownTopic(_))
    ));
    assert!(matches!(
        store.append("t", 2, &[record(1, None, Some("x"))], None),
        Err(TopicError::UnknownPartition { partitions: 2, .. })
    ));
    assert!(matches!(
        store.offsets("t", 5),
        Err(TopicError::UnknownPartition { .. })
    ));
    assert!(store.subscribe("nope").is_none());
    assert!(!store.wait_for_data("nope", 0, 0, Duration::from_millis(10)));
    assert!(matches!(
        store.create_topic("bad name", spec(1)),
        Err(TopicError::InvalidName(_))
    ));
    assert!(matches!(
        store.create_topic("zero", spec(0)),
        Err(TopicError::InvalidSpec(_))
    ));
}

#[test]
fn topics_are_created_described_listed_and_deleted() {
    let (store, _mock) = store();
    assert_eq!(store.create_topic("b", spec(3)).unwrap(), Created::Created);
    assert_eq!(store.create_topic("a", spec(1)).unwrap(), Created::Created);
    assert_eq!(
        store.create_topic("b", spec(5)).unwrap(),
        Created::AlreadyExists { partitions: 3 }
    );
    let info = store.describe_topic("b").unwrap().unwrap();
    assert_eq!((info.name.as_str(), info.partitions, info.replicas), ("b", 3, 1));
    assert_eq!(store.describe_topic("c").unwrap(), None);
    let names: Vec<String> = store.list_topics().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, vec!["a".to_string(), "b".to_string()]);

    store.append("a", 0, &[record(1, None, Some("old"))], None).unwrap();
    store.delete_topic("a").unwrap();
    assert_eq!(store.describe_topic("a").unwrap(), None);
    assert!(matches!(store.delete_topic("a"), Err(TopicError::UnknownTopic(_))));
    assert!(matches!(store.read("a", 0, 0, 1), Err(TopicError::UnknownTopic(_))));
    let names: Vec<String> = store.list_topics().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, vec!["b".to_string()]);
    // Created again, the topic starts empty, with the new partition count.
    assert_eq!(store.create_topic("a", spec(2)).unwrap(), Created::Created);
    assert_eq!(store.describe_topic("a").unwrap().unwrap().partitions, 2);
    assert_eq!(store.offsets("a", 0).unwrap(), PartitionOffsets::default());
    store.append("a", 0, &[record(1, None, Some("new"))], None).unwrap();
    let read = store.read("a", 0, 0, 10).unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(
        (&*read[0].topic, read[0].record.value.as_deref()),
        ("a", Some(&b"new"[..]))
    );
}

#[test]
fn appends_from_another_client_are_seen_by_waiting() {
    let (store, mock) = store();
    let other = KafkaStore::connect_mock(&config(), mock).unwrap();
    store.create_topic("t", spec(2)).unwrap();
    assert!(store.read("t", 1, 0, 10).unwrap().is_empty());
    assert!(!store.wait_for_data("t", 1, 0, Duration::from_millis(50)));
    let mut changes = store.subscribe("t").unwrap();
    changes.mark_unchanged();
    other
        .append(
            "t",
            1,
            &[record(9, Some("k"), Some("v")), record(10, Some("k"), Some("w"))],
            None,
        )
        .unwrap();
    assert!(store.wait_for_data("t", 1, 0, Duration::from_secs(10)));
    let mut read = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while read.len() < 2 && Instant::now() < deadline {
        let offset = read.last().map_or(0, |r: &crate::topics::ConsumedRecord| r.offset + 1);
        read.extend(store.read("t", 1, offset, 10).unwrap());
    }
    assert_eq!(read.iter().map(|r| r.record.timestamp).collect::<Vec<_>>(), vec![9, 10]);
    // The background poll notices the other client's append.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !changes.has_changed().unwrap() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(changes.has_changed().unwrap());
    // Our own appends bump it at once.
    changes.mark_unchanged();
    store.append("t", 0, &[record(1, None, Some("x"))], None).unwrap();
    assert!(changes.has_changed().unwrap());
}

#[test]
fn concurrent_appends_get_consecutive_offsets() {
    let (store, _mock) = store();
    let store = Arc::new(store);
    store.create_topic("t", spec(1)).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                (0..10)
                    .map(|i| {
                        let batch: Vec<Record> =
                            (0..5).map(|j| record(1, None, Some(&format!("{t}-{i}-{j}")))).collect();
                        (store.append("t", 0, &batch, None).unwrap(), t, i)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let firsts: Vec<(i64, i32, i32)> = threads.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let all = read_all(&store, "t", 0, 0);
    assert_eq!(all.len(), 200);
    for (first, t, i) in firsts {
        for j in 0..5 {
            let value = all[(first + j) as usize].record.value.clone().unwrap();
            assert_eq!(value, Bytes::from(format!("{t}-{i}-{j}")));
        }
    }
}

#[test]
fn committed_group_offsets_are_listed_per_topic() {
    let (store, _mock) = store();
    store.create_topic("t", spec(2)).unwrap();
    store.create_topic("u", spec(1)).unwrap();
    store
        .commit_offsets(
            "weir_query_Q1",
            &[("t".into(), 0, 5), ("t".into(), 1, 7), ("u".into(), 0, 1)],
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut groups = vec![];
    while Instant::now() < deadline {
        groups = store.consumer_groups("t").unwrap();
        if groups.first().is_some_and(|g| g.offsets.len() == 2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].group, "weir_query_Q1");
    assert_eq!(groups[0].offsets, vec![(0, 5), (1, 7)]);
    assert!(store.consumer_groups("missing").unwrap().is_empty());
}

#[test]
fn compacted_topics_can_be_created() {
    let (store, _mock) = store();
    assert_eq!(
        store.create_compacted_topic("_weir_x_command_topic", spec(1)).unwrap(),
        Created::Created
    );
    assert_eq!(
        store.create_compacted_topic("_weir_x_command_topic", spec(1)).unwrap(),
        Created::AlreadyExists { partitions: 1 }
    );
}

#[test]
fn mock_bootstrap_starts_an_in_process_cluster() {
    let config = KafkaConfig {
        bootstrap_servers: "mock://".into(),
        ..config()
    };
    let store = KafkaStore::connect(&config).unwrap();
    assert_eq!(store.kind(), "kafka");
    assert!(store.mock().is_some());
    store.healthy().unwrap();
    store.create_topic("t", spec(1)).unwrap();
    store.append("t", 0, &[record(3, None, Some("x"))], None).unwrap();
    store.flush().unwrap();
    assert_eq!(store.read("t", 0, 0, 1).unwrap()[0].record.timestamp, 3);
}

#[test]
fn an_unreachable_cluster_fails_to_connect() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = KafkaConfig {
        bootstrap_servers: format!("127.0.0.1:{port}"),
        request_timeout_ms: 500,
        ..KafkaConfig::default()
    };
    let err = KafkaStore::connect(&config).err().unwrap();
    assert!(err.to_string().contains("cannot reach Kafka"), "{err}");
}

#[test]
fn large_sequential_reads_see_every_record_once() {
    let (store, _mock) = store();
    store.create_topic("big", spec(1)).unwrap();
    let n = 20_000;
    for chunk in (0..n).collect::<Vec<i64>>().chunks(1000) {
        let records: Vec<Record> = chunk
            .iter()
            .map(|i| record(i + 1, None, Some(&i.to_string())))
            .collect();
        store.append("big", 0, &records, None).unwrap();
    }
    // Read the middle first, so the sequential pass below starts on a reader that was positioned elsewhere.
    assert_eq!(store.read("big", 0, n / 2, 10).unwrap()[0].offset, n / 2);
    let mut offset = 0;
    let mut count = 0;
    loop {
        let batch = store.read("big", 0, offset, 1024).unwrap();
        let Some(last) = batch.last() else { break };
        for (i, r) in batch.iter().enumerate() {
            assert_eq!(r.offset, offset + i as i64);
            assert_eq!(r.record.value.as_deref(), Some(r.offset.to_string().as_bytes()));
        }
        count += batch.len();
        offset = last.offset + 1;
    }
    assert_eq!(count as i64, n);
}

#[test]
fn a_broker_outage_is_unhealthy_and_appends_wait_it_out() {
    let (store, mock) = store();
    store.create_topic("t", spec(1)).unwrap();
    store.append("t", 0, &[record(1, None, Some("before"))], None).unwrap();
    store.healthy().unwrap();
    mock.set_brokers_up(false).unwrap();
    let err = store.healthy().unwrap_err();
    assert!(err.to_string().contains("cannot reach Kafka"), "{err}");
    let store = Arc::new(store);
    let appending = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || store.append("t", 0, &[record(2, None, Some("during"))], None))
    };
    std::thread::sleep(Duration::from_secs(2));
    assert!(!appending.is_finished(), "the append should wait for the broker");
    mock.set_brokers_up(true).unwrap();
    assert_eq!(appending.join().unwrap().unwrap(), 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.healthy().is_err() {
        assert!(Instant::now() < deadline, "the store did not become healthy again");
        std::thread::sleep(Duration::from_millis(100));
    }
    let values: Vec<_> = read_all(&store, "t", 0, 0)
        .into_iter()
        .map(|r| r.record.value.unwrap())
        .collect();
    assert_eq!(values, vec![Bytes::from("before"), Bytes::from("during")]);
}

#[test]
fn a_sink_record_the_cluster_refuses_is_a_production_error_and_the_query_errors() {
    use crate::engine::{Engine, EngineOptions, Session, StatementResult};
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::config::Config::default();
    config.storage.data_dir = dir.path().to_path_buf();
    config.storage.fsync = crate::config::FsyncMode::Never;
    config.kafka = KafkaConfig {
        bootstrap_servers: "mock://".into(),
        ..self::config()
    };
    // Records over 2,000 bytes fail for good (locally, before any retry): the sink's 5,000-byte values do.
    config
        .kafka
        .properties
        .insert("producer.message.max.bytes".into(), "2000".into());
    let engine = Engine::open(EngineOptions {
        config,
        synchronous: true,
        fixed_clock: true,
    })
    .unwrap();
    let mut session = Session::default();
    engine
        .execute(
            "CREATE STREAM src (id INT KEY, name STRING) WITH (kafka_topic='src', value_format='JSON', partitions=1);\
             CREATE STREAM big AS SELECT id, LPAD(name, 5000, 'x') AS padded FROM src;\
             INSERT INTO src (id, name) VALUES (1, 'a');",
            &mut session,
        )
        .unwrap();
    let err = engine.run_until_idle().unwrap_err();
    assert!(err.to_string().contains("could not deliver records to BIG-0"), "{err}");

    let queries = engine.execute("SHOW QUERIES;", &mut session).unwrap();
    let [StatementResult::Queries(queries)] = queries.as_slice() else {
        panic!("{queries:?}")
    };
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].state, "ERROR");
    assert!(queries[0].error.as_deref().unwrap_or("").contains("could not deliver"));

    let log_topic = engine.processing_log().topic.clone();
    let logged = read_all_from(engine.topics().as_ref(), &log_topic);
    assert_eq!(logged.len(), 1, "{logged:?}");
    let entry: serde_json::Value = serde_json::from_slice(logged[0].record.value.as_deref().unwrap()).unwrap();
    assert_eq!(entry["KIND"], "production");
    assert_eq!(entry["QUERY_ID"], "CSAS_BIG_1");
    assert_eq!(entry["SOURCE_TOPIC"], "src");
    assert!(
        entry["MESSAGE"].as_str().unwrap().contains("could not deliver"),
        "{entry}"
    );
}

fn read_all_from(store: &dyn TopicStore, topic: &str) -> Vec<crate::topics::ConsumedRecord> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let batch = store.read(topic, 0, offset, 1000).unwrap();
        let Some(last) = batch.last() else { return out };
        offset = last.offset + 1;
        out.extend(batch);
    }
}
