//! Store-level tests: the [`TopicStore`] contract, persistence, crash recovery and concurrency.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::topics::Header;

const TOPIC: &str = "events";

fn spec(partitions: u32) -> TopicSpec {
    TopicSpec {
        partitions,
        replicas: 1,
    }
}

fn options(segment_bytes: u64) -> EmbeddedOptions {
    EmbeddedOptions {
        segment_bytes,
        fsync: FsyncPolicy::Never,
    }
}

fn open(dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open(dir, options(64 << 20)).unwrap()
}

fn open_with_topic(dir: &Path, segment_bytes: u64) -> EmbeddedStore {
    let store = EmbeddedStore::open(dir, options(segment_bytes)).unwrap();
    store.create_topic(TOPIC, spec(2)).unwrap();
    store
}

/// A record whose content is derived from its offset, so readers can check what they got.
fn rec(i: i64) -> Record {
    Record {
        timestamp: 1_000 + i,
        key: Some(Bytes::from(format!("k{i}"))),
        value: Some(Bytes::from(format!("value-{i}-{}", "x".repeat((i % 7) as usize)))),
        headers: if i % 3 == 0 {
            vec![Header {
                key: "n".into(),
                value: Some(Bytes::from(i.to_string())),
            }]
        } else {
            vec![]
        },
    }
}

fn recs(range: std::ops::Range<i64>) -> Vec<Record> {
    range.map(rec).collect()
}

fn read_all(store: &EmbeddedStore, partition: u32) -> Vec<ConsumedRecord> {
    store.read(TOPIC, partition, 0, usize::MAX).unwrap()
}

fn assert_records(got: &[ConsumedRecord], from: i64, count: usize) {
    assert_eq!(got.len(), count, "record count from {from}");
    for (i, consumed) in got.iter().enumerate() {
        let offset = from + i as i64;
        assert_eq!(consumed.offset, offset);
        assert_eq!(consumed.record, rec(offset), "record at offset {offset}");
    }
}

fn segment_path(dir: &Path, partition: u32, base: i64) -> PathBuf {
    segment::log_path(&dir.join(TOPIC).join(partition.to_string()), base)
}

fn sealed_bases(dir: &Path, partition: u32) -> Vec<i64> {
    let mut bases: Vec<i64> = fs::read_dir(dir.join(TOPIC).join(partition.to_string()))
        .unwrap()
        .filter_map(
            |e| match segment::SegmentFile::parse(e.unwrap().file_name().to_str()?) {
                Some(segment::SegmentFile::Log(base)) => Some(base),
                _ => None,
            },
        )
        .collect();
    bases.sort_unstable();
    bases
}

/// A small xorshift generator, so the randomized tests are reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn round_trip_keys_values_nulls_headers_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_topic(dir.path(), 1 << 20);
    let records = vec![
        Record {
            timestamp: 1_700_000_000_123,
            key: Some(Bytes::from_static(b"key")),
            value: Some(Bytes::from_static(b"{\"a\":1}")),
            headers: vec![],
        },
        Record {
            timestamp: -5,
            key: None,
            value: None,
            headers: vec![],
        },
        Record {
            timestamp: 0,
            key: Some(Bytes::new()),
            value: Some(Bytes::new()),
            headers: vec![
                Header {
                    key: "null".into(),
                    value: None,
                },
                Header {
                    key: "empty".into(),
                    value: Some(Bytes::new()),
                },
                Header {
                    key: "bin".into(),
                    value: Some(Bytes::from_static(&[0, 255, 7])),
                },
                Header {
                    key: "null".into(),
                    value: None,
                },
            ],
        },
        Record {
            timestamp: i64::MAX,
            key: None,
            value: Some(Bytes::from(vec![9u8; 10_000])),
            headers: vec![],
        },
    ];
    assert_eq!(store.append(TOPIC, 1, &records, None).unwrap(), 0);
    assert_eq!(store.append(TOPIC, 1, &records[..2], None).unwrap(), 4);
    let got = store.read(TOPIC, 1, 0, 100).unwrap();
    assert_eq!(got.len(), 6);
    for (i, consumed) in got.iter().enumerate() {
        assert_eq!(
            (&*consumed.topic, consumed.partition, consumed.offset),
            (TOPIC, 1, i as i64)
        );
        assert_eq!(consumed.record, records[i % 4]);
    }
    assert_eq!(
        store.offsets(TOPIC, 1).unwrap(),
        PartitionOffsets { earliest: 0, end: 6 }
    );
    assert_eq!(
        store.offsets(TOPIC, 0).unwrap(),
        PartitionOffsets { earliest: 0, end: 0 }
    );
    assert!(store.read(TOPIC, 0, 0, 10).unwrap().is_empty());
}

#[test]
fn one_append_is_one_frame() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_topic(dir.path(), 64 << 20);
    let records: Vec<Record> = (0..1_000)
        .map(|i| Record {
            timestamp: i,
            value: Some(Bytes::from(vec![b'v'; 250])),
            ..Record::default()
        })
        .collect();
    store.append(TOPIC, 0, &records, None).unwrap();
    let mut frame = Vec::new();
    batch::encode(&mut frame, 0, &records, None).unwrap();
    assert_eq!(fs::read(segment_path(dir.path(), 0, 0)).unwrap(), frame);
    assert!(
        frame.len() < 1_000 * 256,
        "about 5 bytes of overhead per record, not {}",
        frame.len() / 1_000
    );
}

#[test]
fn reads_start_mid_batch_and_honour_max() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_topic(dir.path(), 1 << 20);
    for batch in 0..3 {
        store
            .append(TOPIC, 0, &recs(batch * 10..batch * 10 + 10), None)
            .unwrap();
    }
    assert_records(&store.read(TOPIC, 0, 15, 3).unwrap(), 15, 3);
    assert_records(&store.read(TOPIC, 0, 9, 5).unwrap(), 9, 5);
    assert_records(&store.read(TOPIC, 0, 7, 1_000).unwrap(), 7, 23);
    assert_records(&store.read(TOPIC, 0, 29, 1).unwrap(), 29, 1);
    for offset in 0..30 {
        for max in [1, 2, 11] {
            let expected = max.min(30 - offset as usize);
            assert_records(&store.read(TOPIC, 0, offset, max).unwrap(), offset, expected);
        }
    }
    assert!(
        store.read(TOPIC, 0, 30, 10).unwrap().is_empty(),
        "reading at the end is empty"
    );
    assert!(store.read(TOPIC, 0, 3, 0).unwrap().is_empty());
    for bad in [31, -1, i64::MAX, i64::MIN] {
        match store.read(TOPIC, 0, bad, 1) {
            Err(TopicError::OffsetOutOfRange {
                offset,
                earliest: 0,
                end: 30,
                ..
            }) => assert_eq!(offset, bad),
            other => panic!("offset {bad}: {other:?}"),
        }
    }
    assert!(matches!(
        store.read(TOPIC, 2, 0, 1),
        Err(TopicError::UnknownPartition { partitions: 2, .. })
    ));
    assert!(matches!(store.read("nope", 0, 0, 1), Err(TopicError::UnknownTopic(_))));
}

#[test]
fn empty_appends() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_topic(dir.path(), 1 << 20);
    store.append(TOPIC, 0, &recs(0..2), None).unwrap();
    let mut changes = store.subscribe(TOPIC).unwrap();
    changes.mark_unchanged();
    assert_eq!(store.append(TOPIC, 0, &[], None).unwrap(), 2);
    assert_eq!(store.append(TOPIC, 0, &[], Some(b"only metadata")).unwrap(), 2);
    assert!(!changes.has_changed().unwrap(), "no records, no notification");
    assert_eq!(store.offsets(TOPIC, 0).unwrap().end, 2);
    assert_eq!(store.append(TOPIC, 0, &recs(2..3), None).unwrap(), 2);
    assert_records(&read_all(&store, 0), 0, 3);
    assert_eq!(
        store.batch_metadata(TOPIC, 0, 2).unwrap(),
        vec![(2, b"only metadata".to_vec())]
    );
}

#[test]
fn segments_roll_and_reads_cross_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_topic(dir.path(), 2_000);
    let mut next = 0;
    for batch in 0..60 {
        let n = 1 + batch % 9;
        assert_eq!(store.append(TOPIC, 0, &recs(next..next + n), None).unwrap(), next);
        next += n;
    }
    let segments = store.segment_count(TOPIC, 0);
    assert!(segments > 3, "only {segments} segments");
    for base in &sealed_bases(dir.path(), 0)[..segments - 1] {
        let size = fs::metadata(segment_path(dir.path(), 0, *base)).unwrap().len();
        assert!(size <= 2_000, "segment {base} has {size} bytes");
        assert!(
            segment::index_path(&dir.path().join(TOPIC).join("0"), *base).exists(),
            "sidecar of {base}"
        );
    }
    assert_records(&read_all(&store, 0), 0, next as usize);
    for offset in (0..next).step_by(7) {
        assert_records(
            &store.read(TOPIC, 0, offset, 25).unwrap(),
            offset,
            25.min((next - offset) as usize),
        );
    }
    drop(store);

    // Reopen: sealed segments come from their sidecars; then again with one sidecar missing (rebuilt).
    let store = open(dir.path());
    assert_records(&read_all(&store, 0), 0, next as usize);
    drop(store);
    let second = sealed_bases(dir.path(), 0)[1];
    fs::remove_file(segment::index_path(&dir.path().join(TOPIC).join("0"), second)).unwrap();
    let store = open(dir.path());
    assert_records(&read_all(&store, 0), 0, next as usize);
    assert_eq!(store.append(TOPIC, 0, &recs(next..next + 3), None).unwrap(), next);
    assert_records(&store.read(TOPIC, 0, next - 2, 10).unwrap(), next - 2, 5);
}

#[test]
fn a_batch_larger_than_a_segment_gets_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_topic(dir.path(), 100);
    store.append(TOPIC, 0, &recs(0..20), None).unwrap();
    store.append(TOPIC, 0, &recs(20..40), None).unwrap();
    store.append(TOPIC, 0, &recs(40..41), None).unwrap();
    assert_eq!(sealed_bases(dir.path(), 0), vec![0, 20, 40]);
    assert_records(&read_all(&store, 0), 0, 41);
}

#[test]
fn reopen_after_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_topic(dir.path(), 1 << 20);
    store
        .create_topic(
            "another",
            TopicSpec {
                partitions: 3,
                replicas: 2,
            },
        )
        .unwrap();
    store.append(TOPIC, 0, &recs(0..10), Some(b"m0")).unwrap();
    store.append(TOPIC, 1, &recs(0..4), None).unwrap();
    store.close().unwrap();

    let store = open(dir.path());
    let names: Vec<(String, u32, i16)> = store
        .list_topics()
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.partitions, t.replicas))
        .collect();
    assert_eq!(names, vec![("another".into(), 3, 2), (TOPIC.into(), 2, 1)]);
    assert_records(&read_all(&store, 0), 0, 10);
    assert_records(&read_all(&store, 1), 0, 4);
    assert_eq!(store.append(TOPIC, 0, &recs(10..12), None).unwrap(), 10);
    assert_records(&read_all(&store, 0), 0, 12);
    assert_eq!(store.batch_metadata(TOPIC, 0, 0).unwrap(), vec![(0, b"m0".to_vec())]);
    assert_eq!(
        store.create_topic(TOPIC, spec(5)).unwrap(),
        Created::AlreadyExists { partitions: 2 }
    );
}

#[test]
fn a_second_store_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert!(matches!(
        EmbeddedStore::open(dir.path(), options(1 << 20)),
        Err(TopicError::Locked(_))
    ));
    drop(store);
    open(dir.path());
}

/// Appends two batches, closes, then lets `damage` mangle the end of the segment file; reopening must keep exactly
/// the intact batches and continue at the right offset.
fn recover_after(damage: impl FnOnce(&Path, u64)) -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_topic(dir.path(), 1 << 20);
    store.append(TOPIC, 0, &recs(0..5), None).unwrap();
    store.append(TOPIC, 0, &recs(5..8), Some(b"second")).unwrap();
    drop(store);
    let path = segment_path(dir.path(), 0, 0);
    let intact = fs::metadata(&path).unwrap().len();
    damage(&path, intact);
    let store = open(dir.path());
    (dir, store)
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn check_recovered(dir: &Path, store: EmbeddedStore, intact_records: i64) {
    assert_eq!(store.offsets(TOPIC, 0).unwrap().end, intact_records);
    assert_records(&read_all(&store, 0), 0, intact_records as usize);
    assert_eq!(
        store
            .append(TOPIC, 0, &recs(intact_records..intact_records + 4), None)
            .unwrap(),
        intact_records
    );
    assert_records(&read_all(&store, 0), 0, intact_records as usize + 4);
    drop(store);
    // The repaired file holds only whole frames: a second reopen finds nothing to truncate.
    let len = fs::metadata(segment_path(dir, 0, 0)).unwrap().len();
    let again = open(dir);
    assert_records(&read_all(&again, 0), 0, intact_records as usize + 4);
    drop(again);
    assert_eq!(fs::metadata(segment_path(dir, 0, 0)).unwrap().len(), len);
}

#[test]
fn recovery_truncates_a_torn_tail() {
    // A partial frame: the start of a valid third frame.
    let mut third = Vec::new();
    batch::encode(&mut third, 8, &recs(8..12), None).unwrap();
    let (dir, store) = recover_after(|path, _| append_bytes(path, &third[..third.len() / 2]));
    check_recovered(dir.path(), store, 8);

    // Only a few bytes of a header.
    let (dir, store) = recover_after(|path, _| append_bytes(path, &third[..7]));
    check_recovered(dir.path(), store, 8);

    // Garbage, and zeros (what a file system may show after a power loss).
    let (dir, store) = recover_after(|path, _| append_bytes(path, &Rng(7).bytes(3_000)));
    check_recovered(dir.path(), store, 8);
    let (dir, store) = recover_after(|path, _| append_bytes(path, &[0; 4096]));
    check_recovered(dir.path(), store, 8);
}

#[test]
fn recovery_truncates_a_damaged_last_frame() {
    let (dir, store) = recover_after(|path, intact| {
        let mut bytes = fs::read(path).unwrap();
        let at = intact as usize - 10; // inside the second frame's records
        bytes[at] ^= 0x01;
        fs::write(path, bytes).unwrap();
    });
    assert!(
        store.batch_metadata(TOPIC, 0, 0).unwrap().is_empty(),
        "the truncated frame's metadata is gone"
    );
    check_recovered(dir.path(), store, 5);
}

#[test]
fn a_damaged_sealed_segment_is_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_topic(dir.path(), 1_000);
    for i in 0..20 {
        store.append(TOPIC, 0, &recs(i * 5..i * 5 + 5), None).unwrap();
    }
    store.append(TOPIC, 1, &recs(0..3), None).unwrap();
    drop(store);
    let first = segment_path(dir.path(), 0, 0);
    let mut bytes = fs::read(&first).unwrap();
    bytes[60] ^= 0xff;
    fs::write(&first, &bytes).unwrap();

    // With its sidecar the segment is trusted at open, and the damage shows when it is read.
    let store = open(dir.path());
    assert!(matches!(store.read(TOPIC, 0, 0, 10), Err(TopicError::Corrupt { .. })));
    let later = sealed_bases(dir.path(), 0)[1];
    assert_records(&store.read(TOPIC, 0, later, 3).unwrap(), later, 3);
    drop(store);

    // Without it, rebuilding the index finds the damage: the partition is unusable, everything else works.
    fs::remove_file(segment::index_path(&dir.path().join(TOPIC).join("0"), 0)).unwrap();
    let store = open(dir.path());
    assert!(matches!(store.read(TOPIC, 0, 50, 10), Err(TopicError::Corrupt { .. })));
    assert!(matches!(
        store.append(TOPIC, 0, &recs(0..1), None),
        Err(TopicError::Corrupt { .. })
    ));
    assert!(matches!(store.offsets(TOPIC, 0), Err(TopicError::Corrupt { .. })));
    assert!(!store.wait_for_data(TOPIC, 0, 0, Duration::from_millis(1)));
    assert_records(&read_all(&store, 1), 0, 3);
    store.delete_topic(TOPIC).unwrap();
}

#[test]
fn offsets_must_continue_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_topic(dir.path(), 500);
    for i in 0..10 {
        store.append(TOPIC, 0, &recs(i * 4..i * 4 + 4), None).unwrap();
    }
    drop(store);
    let bases = sealed_bases(dir.path(), 0);
    fs::remove_file(segment_path(dir.path(), 0, bases[1])).unwrap();
    let store = open(dir.path());
    assert!(matches!(store.read(TOPIC, 0, 0, 1), Err(TopicError::Corrupt { .. })));
}

#[test]
fn random_segment_files_never_panic() {
    let mut rng = Rng(0x5eed);
    let (mut valid, mut second) = (Vec::new(), Vec::new());
    batch::encode(&mut valid, 0, &recs(0..3), Some(b"meta")).unwrap();
    batch::encode(&mut second, 3, &recs(3..5), None).unwrap();
    for round in 0..60 {
        let dir = tempfile::tempdir().unwrap();
        let store = open_with_topic(dir.path(), 1 << 20);
        drop(store);
        let len = rng.below(5_000) as usize;
        let mut bytes = match round % 3 {
            0 => rng.bytes(len),
            1 => [valid.clone(), rng.bytes(len)].concat(),
            _ => {
                // Valid frames with a few bits flipped anywhere.
                let mut bytes = [valid.clone(), second.clone()].concat();
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(bytes.len() as u64) as usize;
                    bytes[at] ^= 1 << rng.below(8);
                }
                bytes
            }
        };
        if rng.below(2) == 0
            && let Some(first) = bytes.first_mut()
        {
            *first = batch::MAGIC;
        }
        // As the only (active) segment of partition 0, and as a sealed segment of partition 1.
        fs::write(segment_path(dir.path(), 0, 0), &bytes).unwrap();
        fs::write(segment_path(dir.path(), 1, 0), &bytes).unwrap();
        fs::write(segment_path(dir.path(), 1, 1_000_000), b"").unwrap();
        let store = EmbeddedStore::open(dir.path(), options(1 << 20)).unwrap();
        let end = store.offsets(TOPIC, 0).unwrap().end;
        let read = store.read(TOPIC, 0, 0, usize::MAX).unwrap();
        assert_eq!(read.len() as i64, end);
        let _ = store.batch_metadata(TOPIC, 0, 0).unwrap();
        let _ = store.read(TOPIC, 1, 0, usize::MAX);
        let _ = store.batch_metadata(TOPIC, 1, 0);
        assert_eq!(store.append(TOPIC, 0, &recs(0..1), None).unwrap(), end);
    }
}

#[test]
fn concurrent_readers_see_a_consistent_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_with_topic(dir.path(), 8_000));
    const TOTAL: i64 = 3_000;
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                let mut next = 0;
                let mut reads = 0;
                while next < TOTAL {
                    if !store.wait_for_data(TOPIC, 0, next, Duration::from_secs(10)) {
                        panic!("reader {r} timed out at {next}");
                    }
                    let end = store.offsets(TOPIC, 0).unwrap().end;
                    let got = store.read(TOPIC, 0, next, 1 + r * 50).unwrap();
                    assert!(!got.is_empty() && next + got.len() as i64 <= store.offsets(TOPIC, 0).unwrap().end);
                    assert!(end > next);
                    assert_records(&got, next, got.len());
                    next += got.len() as i64;
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let mut rng = Rng(99);
    let mut next = 0;
    while next < TOTAL {
        let n = (1 + rng.below(40) as i64).min(TOTAL - next);
        assert_eq!(store.append(TOPIC, 0, &recs(next..next + n), None).unwrap(), next);
        next += n;
    }
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
    assert!(store.segment_count(TOPIC, 0) > 3);
}

#[test]
fn concurrent_appends_to_one_partition_are_serialized() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_with_topic(dir.path(), 4_000));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                (0..50)
                    .map(|_| store.append(TOPIC, 1, &recs(0..3), None).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut bases: Vec<i64> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    bases.sort_unstable();
    assert_eq!(bases, (0..200).map(|i| i * 3).collect::<Vec<_>>());
    let all = read_all(&store, 1);
    assert_eq!(all.len(), 600);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, r)| r.offset == i as i64 && r.record == rec(i as i64 % 3))
    );
}

#[test]
fn wait_for_data_wakes_on_append_and_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_with_topic(dir.path(), 1 << 20));
    let started = Instant::now();
    assert!(!store.wait_for_data(TOPIC, 0, 0, Duration::from_millis(50)));
    assert!(started.elapsed() >= Duration::from_millis(50));

    let writer = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(30));
            store.append(TOPIC, 0, &recs(0..1), None).unwrap();
        })
    };
    let started = Instant::now();
    assert!(store.wait_for_data(TOPIC, 0, 0, Duration::from_secs(30)));
    assert!(started.elapsed() < Duration::from_secs(10));
    writer.join().unwrap();
    assert!(store.wait_for_data(TOPIC, 0, 0, Duration::ZERO), "data already there");
    assert!(!store.wait_for_data(TOPIC, 0, 1, Duration::ZERO));
    assert!(!store.wait_for_data("nope", 0, 0, Duration::ZERO));
}

#[test]
fn subscribe_changes_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_with_topic(dir.path(), 1 << 20));
    assert!(store.subscribe("nope").is_none());
    let mut changes = store.subscribe(TOPIC).unwrap();
    assert!(!changes.has_changed().unwrap());
    store.append(TOPIC, 1, &recs(0..2), None).unwrap();
    assert!(changes.has_changed().unwrap());
    let first = *changes.borrow_and_update();
    store.append(TOPIC, 0, &recs(0..1), None).unwrap();
    assert_ne!(*changes.borrow_and_update(), first);

    // Async waiters are woken by an append from another thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let writer = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            store.append(TOPIC, 0, &recs(1..2), None).unwrap();
        })
    };
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), changes.changed())
            .await
            .unwrap()
            .unwrap();
    });
    writer.join().unwrap();

    // Deleting the topic closes the channel.
    store.delete_topic(TOPIC).unwrap();
    assert!(changes.has_changed().is_err());
}

#[test]
fn batch_metadata_returns_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_topic(dir.path(), 1_500);
    let mut expected = Vec::new();
    let mut next = 0;
    for i in 0..40i64 {
        let metadata = format!("source offsets up to {}", i * 10);
        let with_metadata = i % 4 != 1;
        let n = (i % 5) + 1;
        assert_eq!(
            store
                .append(
                    TOPIC,
                    0,
                    &recs(next..next + n),
                    with_metadata.then_some(metadata.as_bytes())
                )
                .unwrap(),
            next
        );
        if with_metadata {
            expected.push((next, metadata.into_bytes()));
        }
        next += n;
    }
    assert!(store.segment_count(TOPIC, 0) > 2);
    assert_eq!(store.batch_metadata(TOPIC, 0, 0).unwrap(), expected);
    assert_eq!(store.batch_metadata(TOPIC, 0, i64::MIN).unwrap(), expected);
    for from in 0..=next + 1 {
        let want: Vec<_> = expected.iter().filter(|(base, _)| *base >= from).cloned().collect();
        assert_eq!(store.batch_metadata(TOPIC, 0, from).unwrap(), want, "from {from}");
    }
    assert!(store.batch_metadata(TOPIC, 1, 0).unwrap().is_empty());
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.batch_metadata(TOPIC, 0, 0).unwrap(), expected);
}

#[test]
fn delete_then_read_is_unknown_topic() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_with_topic(dir.path(), 1 << 20));
    store.append(TOPIC, 0, &recs(0..3), None).unwrap();
    let waiter = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.wait_for_data(TOPIC, 0, 3, Duration::from_secs(30)))
    };
    thread::sleep(Duration::from_millis(20));
    store.delete_topic(TOPIC).unwrap();
    assert!(
        !waiter.join().unwrap(),
        "a waiter on a deleted topic wakes up with no data"
    );
    assert!(!dir.path().join(TOPIC).exists());
    assert!(matches!(store.read(TOPIC, 0, 0, 1), Err(TopicError::UnknownTopic(_))));
    assert!(matches!(
        store.append(TOPIC, 0, &recs(0..1), None),
        Err(TopicError::UnknownTopic(_))
    ));
    assert!(matches!(store.offsets(TOPIC, 0), Err(TopicError::UnknownTopic(_))));
    assert!(matches!(
        store.batch_metadata(TOPIC, 0, 0),
        Err(TopicError::UnknownTopic(_))
    ));
    assert!(matches!(store.delete_topic(TOPIC), Err(TopicError::UnknownTopic(_))));
    assert_eq!(store.describe_topic(TOPIC).unwrap(), None);
    assert!(store.list_topics().unwrap().is_empty());

    // The name can be reused, starting from offset 0.
    assert_eq!(store.create_topic(TOPIC, spec(1)).unwrap(), Created::Created);
    assert_eq!(store.append(TOPIC, 0, &recs(0..1), None).unwrap(), 0);
    assert!(matches!(
        store.read(TOPIC, 1, 0, 1),
        Err(TopicError::UnknownPartition { .. })
    ));
}

#[test]
fn topic_names_and_specs_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for bad in [
        "",
        ".",
        "..",
        "has space",
        "slash/y",
        "+lock",
        "+creating.x",
        "ü",
        &"x".repeat(250),
    ] {
        assert!(
            matches!(store.create_topic(bad, spec(1)), Err(TopicError::InvalidName(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(
        store.create_topic("zero", spec(0)),
        Err(TopicError::InvalidSpec(_))
    ));
    for good in ["b.topic", "A_1", "a-2", ".hidden", &"y".repeat(249)] {
        assert_eq!(store.create_topic(good, spec(1)).unwrap(), Created::Created, "{good}");
    }
    let names: Vec<String> = store.list_topics().unwrap().into_iter().map(|t| t.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 5);
    assert_eq!(
        store.describe_topic("A_1").unwrap(),
        Some(TopicInfo {
            name: "A_1".into(),
            partitions: 1,
            replicas: 1
        })
    );
    assert_eq!(store.kind(), "embedded");
}

#[test]
fn leftovers_of_interrupted_operations_are_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    drop(open_with_topic(dir.path(), 1 << 20));
    fs::create_dir_all(dir.path().join("+creating.half/0")).unwrap();
    fs::create_dir_all(dir.path().join("+deleting.old.123/0")).unwrap();
    fs::create_dir_all(dir.path().join("stray/0")).unwrap();
    fs::write(
        dir.path().join(TOPIC).join("0").join("00000000000000000000.index.tmp"),
        b"x",
    )
    .unwrap();
    let store = open(dir.path());
    assert!(!dir.path().join("+creating.half").exists());
    assert!(!dir.path().join("+deleting.old.123").exists());
    assert!(
        !dir.path()
            .join(TOPIC)
            .join("0")
            .join("00000000000000000000.index.tmp")
            .exists()
    );
    let names: Vec<String> = store.list_topics().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, vec![TOPIC.to_string()]);
    assert!(matches!(
        store.create_topic("stray", spec(1)),
        Err(TopicError::Metadata(_))
    ));
}

#[test]
fn every_fsync_policy_persists_data() {
    for fsync in [
        FsyncPolicy::Always,
        FsyncPolicy::Never,
        FsyncPolicy::Interval(Duration::from_millis(5)),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(
            dir.path(),
            EmbeddedOptions {
                segment_bytes: 600,
                fsync,
            },
        )
        .unwrap();
        store.create_topic(TOPIC, spec(1)).unwrap();
        for i in 0..10 {
            store.append(TOPIC, 0, &recs(i * 3..i * 3 + 3), None).unwrap();
        }
        if matches!(fsync, FsyncPolicy::Interval(_)) {
            thread::sleep(Duration::from_millis(30));
        }
        store.flush().unwrap();
        drop(store);
        let store = open(dir.path());
        assert_records(&read_all(&store, 0), 0, 30);
    }
}

#[test]
fn default_options() {
    let options = EmbeddedOptions::default();
    assert_eq!(options.segment_bytes, 64 * 1024 * 1024);
    assert_eq!(options.fsync, FsyncPolicy::Interval(Duration::from_secs(1)));
}

/// Environment variable that turns [`crash_child`] into a writer; set only by [`survives_sigkill_during_appends`].
const CRASH_DIR_VAR: &str = "WEIR_TOPICS_CRASH_DIR";

/// The victim of [`survives_sigkill_during_appends`]: appends until killed, printing each acknowledged end offset.
#[test]
#[ignore = "run as a child process by survives_sigkill_during_appends"]
fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR_VAR) else {
        return;
    };
    let store = EmbeddedStore::open(Path::new(&dir), options(16 * 1024)).unwrap();
    store.create_topic(TOPIC, spec(1)).unwrap();
    let mut rng = Rng(42);
    let mut next = 0;
    let mut stdout = std::io::stdout().lock();
    loop {
        let n = 1 + rng.below(60) as i64;
        store
            .append(TOPIC, 0, &recs(next..next + n), Some(next.to_string().as_bytes()))
            .unwrap();
        next += n;
        writeln!(stdout, "acked {next}").unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn survives_sigkill_during_appends() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "topics::embedded::tests::crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = 0;
    while acked < 5_000 {
        let line = lines.next().expect("the writer stopped early").unwrap();
        if let Some(n) = line.strip_prefix("acked ") {
            acked = n.parse().unwrap();
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructors, no flush
    child.wait().unwrap();
    for line in lines {
        if let Some(n) = line.unwrap().strip_prefix("acked ") {
            acked = n.parse().unwrap();
        }
    }

    let store = open(dir.path());
    let end = store.offsets(TOPIC, 0).unwrap().end;
    assert!(end >= acked, "acknowledged {acked} records but only {end} survived");
    assert!(store.segment_count(TOPIC, 0) > 3);
    assert_records(&read_all(&store, 0), 0, end as usize);
    let metadata = store.batch_metadata(TOPIC, 0, 0).unwrap();
    assert!(metadata.iter().all(|(base, m)| m == base.to_string().as_bytes()));
    assert_eq!(store.append(TOPIC, 0, &recs(end..end + 1), None).unwrap(), end);
}
