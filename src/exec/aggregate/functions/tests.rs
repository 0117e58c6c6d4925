//! Tests of every function through the public API: resolution, ksqlDB's documented and tested examples, and a
//! randomized comparison against a naive per-group reference (with SKIP rows, nulls, retraction, merges,
//! resets, growth, checkpoint round trips and evaluation of shuffled subsets of slots).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::scalar::ScalarValue;

use super::*;
use crate::exec::aggregate::accumulator::{SKIP, UpdateContext};

fn call_spec(name: &str, args: &[SqlType], literals: &[Option<ScalarValue>]) -> Result<AggregateSpec, String> {
    let mut lits = literals.to_vec();
    lits.resize(args.len(), None);
    resolve_aggregate(&AggregateCall {
        name,
        arg_types: args,
        literals: &lits,
    })
}

fn make(name: &str, args: &[SqlType], literals: &[Option<ScalarValue>]) -> Box<dyn GroupsAccumulator> {
    (call_spec(name, args, literals).unwrap().create)()
}

fn int_lit(v: i32) -> Option<ScalarValue> {
    Some(ScalarValue::Int32(Some(v)))
}

fn ints(v: &[Option<i32>]) -> ArrayRef {
    Arc::new(Int32Array::from(v.to_vec()))
}

fn update(acc: &mut dyn GroupsAccumulator, args: &[ArrayRef], slots: &[u32], first_seq: u64) {
    let seq: Vec<u64> = (first_seq..first_seq + slots.len() as u64).collect();
    acc.update(args, slots, &UpdateContext { sequence: &seq }).unwrap();
}

fn show(array: &ArrayRef) -> Vec<String> {
    (0..array.len())
        .map(|i| {
            if array.is_null(i) {
                "NULL".to_string()
            } else {
                array_value_to_string(array, i).unwrap()
            }
        })
        .collect()
}

fn doubles(array: &ArrayRef) -> Vec<f64> {
    array.as_any().downcast_ref::<Float64Array>().unwrap().values().to_vec()
}

#[test]
fn names_and_types_resolve_like_ksqldb() {
    assert!(is_aggregate("count") && is_aggregate("Latest_By_Offset") && is_aggregate("TOPKDISTINCT"));
    assert!(!is_aggregate("ABS"));

    let dec = SqlType::decimal(4, 1).unwrap();
    type Case<'a> = (&'a str, Vec<SqlType>, Vec<Option<ScalarValue>>, SqlType, bool);
    let cases: Vec<Case> = vec![
        ("count", vec![], vec![], SqlType::BigInt, true),
        ("COUNT", vec![SqlType::String], vec![], SqlType::BigInt, true),
        ("SUM", vec![SqlType::Int], vec![], SqlType::Int, true),
        ("SUM", vec![SqlType::BigInt], vec![], SqlType::BigInt, true),
        ("SUM", vec![SqlType::Double], vec![], SqlType::Double, true),
        ("SUM", vec![dec.clone()], vec![], dec.clone(), true),
        ("AVG", vec![SqlType::Int], vec![], SqlType::Double, true),
        ("AVG", vec![dec.clone()], vec![], SqlType::Double, true),
        ("MIN", vec![SqlType::Timestamp], vec![], SqlType::Timestamp, false),
        ("MAX", vec![SqlType::String], vec![], SqlType::String, false),
        ("MAX", vec![SqlType::Date], vec![], SqlType::Date, false),
        ("COUNT_DISTINCT", vec![SqlType::String], vec![], SqlType::BigInt, false),
        (
            "COLLECT_LIST",
            vec![SqlType::Int],
            vec![],
            SqlType::Array(Box::new(SqlType::Int)),
            true,
        ),
        (
            "COLLECT_SET",
            vec![SqlType::Int],
            vec![],
            SqlType::Array(Box::new(SqlType::Int)),
            false,
        ),
        (
            "EARLIEST_BY_OFFSET",
            vec![SqlType::Double],
            vec![],
            SqlType::Double,
            false,
        ),
        (
            "LATEST_BY_OFFSET",
            vec![SqlType::Double, SqlType::Int],
            vec![None, int_lit(2)],
            SqlType::Array(Box::new(SqlType::Double)),
            false,
        ),
        (
            "LATEST_BY_OFFSET",
            vec![SqlType::Double, SqlType::Boolean],
            vec![None, Some(ScalarValue::Boolean(Some(false)))],
            SqlType::Double,
            false,
        ),
        (
            "TOPK",
            vec![SqlType::BigInt, SqlType::Int],
            vec![None, int_lit(3)],
            SqlType::Array(Box::new(SqlType::BigInt)),
            false,
        ),
        ("STDDEV_SAMP", vec![SqlType::Int], vec![], SqlType::Double, true),
        (
            "HISTOGRAM",
            vec![SqlType::String],
            vec![],
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::BigInt)),
            true,
        ),
    ];
    for (name, args, lits, ret, retract) in cases {
        let spec = call_spec(name, &args, &lits).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(spec.name, name.to_ascii_uppercase());
        assert_eq!(spec.return_type, ret, "{name}");
        assert_eq!(spec.supports_retract, retract, "{name}");
        // Every accumulator evaluates to its return type, even with no groups.
        let acc = (spec.create)();
        assert_eq!(acc.evaluate(&[]).unwrap().data_type(), &ret.to_arrow(), "{name}");
    }
}

#[test]
fn errors_use_ksqldb_words() {
    let err = |name: &str, args: &[SqlType], lits: &[Option<ScalarValue>]| call_spec(name, args, lits).unwrap_err();
    assert_eq!(
        err("SUM", &[SqlType::String], &[]),
        "Function 'SUM' does not accept parameters (STRING)."
    );
    assert_eq!(
        err("sum", &[SqlType::Int, SqlType::Int], &[]),
        "Function 'SUM' does not accept parameters (INTEGER, INTEGER)."
    );
    assert_eq!(
        err("MIN", &[SqlType::Boolean], &[]),
        "Function 'MIN' does not accept parameters (BOOLEAN)."
    );
    assert_eq!(err("AVG", &[], &[]), "Function 'AVG' does not accept parameters ().");
    assert_eq!(
        err("HISTOGRAM", &[SqlType::Int], &[]),
        "Function 'HISTOGRAM' does not accept parameters (INTEGER)."
    );
    assert_eq!(
        err("TOPK", &[SqlType::Boolean, SqlType::Int], &[None, int_lit(2)]),
        "Function 'TOPK' does not accept parameters (BOOLEAN, INTEGER)."
    );
    assert_eq!(
        err("COLLECT_LIST", &[SqlType::Array(Box::new(SqlType::Int))], &[]),
        "Function 'COLLECT_LIST' does not accept parameters (ARRAY<INTEGER>)."
    );
    assert_eq!(
        err("TOPK", &[SqlType::Int, SqlType::Int], &[]),
        "Parameter 2 passed to function TOPK must be a literal constant."
    );
    assert_eq!(
        err("LATEST_BY_OFFSET", &[SqlType::Int, SqlType::Int], &[None, int_lit(0)]),
        "latestN must be 1 or greater"
    );
    assert_eq!(
        err(
            "EARLIEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Int],
            &[None, int_lit(-1)]
        ),
        "earliestN must be 1 or greater"
    );
    assert_eq!(err("NOPE", &[], &[]), "Can't find any functions with the name 'NOPE'");
}

/// ksqlDB's `sum.json` cases: DECIMAL keeps its type and fails on overflow; INT wraps; all-null groups sum to 0.
#[test]
fn sum_examples() {
    let dec = SqlType::decimal(4, 1).unwrap();
    let mut acc = make("SUM", std::slice::from_ref(&dec), &[]);
    acc.resize(2);
    let d = |v: Vec<Option<i128>>| -> ArrayRef {
        Arc::new(Decimal128Array::from(v).with_precision_and_scale(4, 1).unwrap())
    };
    update(
        acc.as_mut(),
        &[d(vec![Some(54), Some(1001), Some(5009), Some(3008)])],
        &[0, 0, 1, 1],
        0,
    );
    assert_eq!(show(&acc.evaluate(&[0, 1]).unwrap()), ["105.5", "801.7"]);
    let e = acc
        .update(&[d(vec![Some(4008)])], &[1], &UpdateContext { sequence: &[9] })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Numeric field overflow: A field with precision 4 and scale 1 must round to an absolute value less than 10^3. Got 1202.5"),
        "{e}"
    );

    let mut acc = make("SUM", &[SqlType::Int], &[]);
    acc.resize(3);
    update(
        acc.as_mut(),
        &[ints(&[Some(i32::MAX), Some(1), None, Some(5)])],
        &[0, 0, 1, SKIP],
        0,
    );
    assert_eq!(
        show(&acc.evaluate(&[2, 1, 0]).unwrap()),
        ["0", "0", &i32::MIN.to_string()]
    );
    // Retracting the rows restores the sum (the "left join of table" case ends at 0 after a tombstone).
    acc.retract(
        &[ints(&[Some(i32::MAX), Some(1)])],
        &[0, 0],
        &UpdateContext { sequence: &[0, 1] },
    )
    .unwrap();
    assert_eq!(show(&acc.evaluate(&[0]).unwrap()), ["0"]);
}

/// ksqlDB's `average-udaf.json`: BIGINT sums wrap; empty groups average 0.0.
#[test]
fn avg_examples() {
    let mut acc = make("AVG", &[SqlType::BigInt], &[]);
    acc.resize(2);
    let longs: ArrayRef = Arc::new(Int64Array::from(vec![Some(-1), Some(i64::MAX), Some(1), None]));
    update(acc.as_mut(), &[longs.slice(0, 2)], &[0, 0], 0);
    assert_eq!(doubles(&acc.evaluate(&[0]).unwrap()), [4.611_686_018_427_388E18]);
    update(acc.as_mut(), &[longs.slice(2, 2)], &[0, 0], 2);
    assert_eq!(doubles(&acc.evaluate(&[0, 1]).unwrap()), [3.0744573456182584E18, 0.0]);

    let mut acc = make("AVG", &[SqlType::Int], &[]);
    acc.resize(1);
    update(
        acc.as_mut(),
        &[ints(&[Some(1), Some(2), Some(2), None])],
        &[0, 0, 0, 0],
        0,
    );
    assert_eq!(doubles(&acc.evaluate(&[0]).unwrap()), [1.6666666666666667]);
}

/// ksqlDB's `standarddeviation.json`, value for value: STDDEV_SAMP is the variance (ksqlDB's documented bug),
/// STDDEV_SAMPLE the deviation, and fewer than two values give 0.0.
#[test]
fn stddev_examples() {
    let inputs = [Some(0), Some(10), Some(7), Some(6)];
    let samp = [0.0, 50.0, 26.333333333333332, 17.583333333333332];
    let sample = [0.0, 7.0710678118654755, 5.131601439446884, 4.193248541803041];
    for (name, expected) in [("STDDEV_SAMP", samp), ("STDDEV_SAMPLE", sample)] {
        let mut acc = make(name, &[SqlType::Int], &[]);
        acc.resize(1);
        for (i, v) in inputs.iter().enumerate() {
            update(acc.as_mut(), &[ints(&[*v, None])], &[0, 0], i as u64 * 2);
            assert_eq!(doubles(&acc.evaluate(&[0]).unwrap()), [expected[i]], "{name} after {i}");
        }
    }
    // The map case: 10, 12, 13, 14, 16.
    let mut acc = make("STDDEV_SAMP", &[SqlType::Double], &[]);
    acc.resize(1);
    let mut out = Vec::new();
    for (i, v) in [10.0, 12.0, 13.0, 14.0, 16.0].into_iter().enumerate() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![v]));
        update(acc.as_mut(), &[a], &[0], i as u64);
        out.extend(doubles(&acc.evaluate(&[0]).unwrap()));
    }
    assert_eq!(out, [0.0, 2.0, 2.333333333333333, 2.9166666666666665, 5.0]);
}

/// ksqlDB's `count-distinct.json`, and the HyperLogLog beyond the exact phase.
#[test]
fn count_distinct_examples() {
    let mut acc = make("COUNT_DISTINCT", &[SqlType::String], &[]);
    acc.resize(2);
    let names: ArrayRef = Arc::new(StringArray::from(vec![
        Some("one"),
        Some("two"),
        Some("one"),
        Some("two"),
        Some("one"),
        None,
    ]));
    update(acc.as_mut(), &[names], &[0, 0, 0, 0, 1, 0], 0);
    assert_eq!(show(&acc.evaluate(&[0, 1]).unwrap()), ["2", "1"]);

    let mut acc = make("COUNT_DISTINCT", &[SqlType::Int], &[]);
    acc.resize(1);
    for chunk in (0..50_000).collect::<Vec<i32>>().chunks(1000) {
        let a: ArrayRef = Arc::new(Int32Array::from(chunk.to_vec()));
        update(acc.as_mut(), &[a], &vec![0; chunk.len()], 0);
    }
    let n = acc
        .evaluate(&[0])
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .value(0);
    assert!((n - 50_000).abs() < 1_500, "{n}");
    assert!(acc.memory_size() < 64 * 1024);
}

#[test]
fn topk_and_collect_examples() {
    // TOPK(order_total, 3) over 10, 50, 20, 50, 40 and a null.
    let vals = ints(&[Some(10), Some(50), Some(20), Some(50), Some(40), None]);
    let mut topk = make("TOPK", &[SqlType::Int, SqlType::Int], &[None, int_lit(3)]);
    let mut distinct = make("TOPKDISTINCT", &[SqlType::Int, SqlType::Int], &[None, int_lit(3)]);
    let mut list = make("COLLECT_LIST", &[SqlType::Int], &[]);
    let mut set = make("COLLECT_SET", &[SqlType::Int], &[]);
    for acc in [&mut topk, &mut distinct, &mut list, &mut set] {
        acc.resize(2);
        update(acc.as_mut(), std::slice::from_ref(&vals), &[0; 6], 0);
    }
    assert_eq!(show(&topk.evaluate(&[0, 1]).unwrap()), ["[50, 50, 40]", "[]"]);
    assert_eq!(show(&distinct.evaluate(&[0]).unwrap()), ["[50, 40, 20]"]);
    assert_eq!(show(&list.evaluate(&[0]).unwrap()), ["[10, 50, 20, 50, 40, ]"]);
    assert_eq!(show(&set.evaluate(&[0]).unwrap()), ["[10, 50, 20, 40, ]"]);
    // COLLECT_LIST undo removes the last occurrence ("collect_list int table").
    list.retract(&[ints(&[Some(50)])], &[0], &UpdateContext { sequence: &[9] })
        .unwrap();
    assert_eq!(show(&list.evaluate(&[0]).unwrap()), ["[10, 50, 20, 40, ]"]);
}

#[test]
fn collect_list_and_histogram_limits() {
    let mut list = make("COLLECT_LIST", &[SqlType::Int], &[]);
    list.resize(1);
    let values: Vec<Option<i32>> = (0..1500).map(Some).collect();
    update(list.as_mut(), &[ints(&values)], &vec![0; 1500], 0);
    let out = list.evaluate(&[0]).unwrap();
    let out = out
        .as_any()
        .downcast_ref::<datafusion::arrow::array::ListArray>()
        .unwrap();
    assert_eq!(out.value_length(0), COLLECT_LIMIT as i32);

    let mut h = make("HISTOGRAM", &[SqlType::String], &[]);
    h.resize(1);
    let keys: Vec<String> = (0..1001).map(|i| format!("k{i:04}")).collect();
    let a: ArrayRef = Arc::new(StringArray::from(keys.clone()));
    update(h.as_mut(), &[a], &vec![0; 1001], 0);
    // k1000 was beyond the limit; k0000 still counts.
    let again: ArrayRef = Arc::new(StringArray::from(vec!["k1000", "k0000"]));
    update(h.as_mut(), &[again], &[0, 0], 2000);
    let out = h.evaluate(&[0]).unwrap();
    let map = out
        .as_any()
        .downcast_ref::<datafusion::arrow::array::MapArray>()
        .unwrap();
    assert_eq!(map.value_length(0), HISTOGRAM_LIMIT as i32);
    assert!(show(&out)[0].starts_with("{k0000: 2, k0001: 1"));
    assert_eq!(
        out.data_type(),
        &SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::BigInt)).to_arrow()
    );
}

#[test]
fn by_offset_examples() {
    let vals = ints(&[Some(1), None, Some(3), Some(4), None]);
    let slots = [0u32; 5];
    let check = |name: &str, args: &[SqlType], lits: &[Option<ScalarValue>], expected: &str| {
        let mut acc = make(name, args, lits);
        acc.resize(2);
        update(acc.as_mut(), std::slice::from_ref(&vals), &slots, 10);
        let empty = if lits.len() > 1 && lits[1].as_ref().is_some_and(|l| matches!(l, ScalarValue::Int32(_))) {
            "[]"
        } else {
            "NULL"
        };
        assert_eq!(
            show(&acc.evaluate(&[0, 1]).unwrap()),
            [expected, empty],
            "{name} {lits:?}"
        );
    };
    let no_nulls = Some(ScalarValue::Boolean(Some(false)));
    check("EARLIEST_BY_OFFSET", &[SqlType::Int], &[], "1");
    check("LATEST_BY_OFFSET", &[SqlType::Int], &[], "4");
    check(
        "LATEST_BY_OFFSET",
        &[SqlType::Int, SqlType::Boolean],
        &[None, no_nulls.clone()],
        "NULL",
    );
    check(
        "EARLIEST_BY_OFFSET",
        &[SqlType::Int, SqlType::Int],
        &[None, int_lit(2)],
        "[1, 3]",
    );
    check(
        "LATEST_BY_OFFSET",
        &[SqlType::Int, SqlType::Int],
        &[None, int_lit(2)],
        "[3, 4]",
    );
    check(
        "LATEST_BY_OFFSET",
        &[SqlType::Int, SqlType::Int, SqlType::Boolean],
        &[None, int_lit(2), no_nulls.clone()],
        "[4, ]",
    );
    check(
        "EARLIEST_BY_OFFSET",
        &[SqlType::Int, SqlType::Int, SqlType::Boolean],
        &[None, int_lit(3), no_nulls],
        "[1, , 3]",
    );

    // Merging two sessions keeps the latest by sequence, whichever slot it came from.
    let mut acc = make("LATEST_BY_OFFSET", &[SqlType::Int, SqlType::Int], &[None, int_lit(2)]);
    acc.resize(2);
    let seq = [5, 1, 7, 3];
    acc.update(
        &[ints(&[Some(50), Some(10), Some(70), Some(30)])],
        &[1, 0, 0, 1],
        &UpdateContext { sequence: &seq },
    )
    .unwrap();
    acc.merge(0, 1).unwrap();
    assert_eq!(show(&acc.evaluate(&[0, 1]).unwrap()), ["[50, 70]", "[]"]);
}

#[test]
fn count_and_max_state_stays_small_for_a_million_groups() {
    let mut count = make("COUNT", &[], &[]);
    let mut max = make("MAX", &[SqlType::BigInt], &[]);
    count.resize(1_000_000);
    max.resize(1_000_000);
    let slots: Vec<u32> = (0..1000).map(|i| i * 997).collect();
    let vals: ArrayRef = Arc::new(Int64Array::from((0..1000).collect::<Vec<i64>>()));
    update(count.as_mut(), &[], &slots, 0);
    update(max.as_mut(), &[vals], &slots, 0);
    let total = count.memory_size() + max.memory_size();
    assert!(total <= 20 * 1024 * 1024, "{total} bytes");
    assert_eq!(show(&max.evaluate(&[997, 0, 1]).unwrap()), ["1", "0", "NULL"]);
}

#[test]
fn retract_on_stream_only_functions_is_an_error_not_a_panic() {
    for (name, args, lits) in [
        ("MIN", vec![SqlType::Int], vec![]),
        ("MAX", vec![SqlType::String], vec![]),
        ("TOPK", vec![SqlType::Int, SqlType::Int], vec![None, int_lit(2)]),
        ("COLLECT_SET", vec![SqlType::Int], vec![]),
        ("COUNT_DISTINCT", vec![SqlType::Int], vec![]),
        ("LATEST_BY_OFFSET", vec![SqlType::Int], vec![]),
    ] {
        let mut acc = make(name, &args, &lits);
        acc.resize(1);
        assert!(
            acc.retract(&[ints(&[Some(1)])], &[0], &UpdateContext { sequence: &[0] })
                .is_err(),
            "{name}"
        );
    }
}

#[test]
fn bad_slots_and_mismatched_batches_are_errors() {
    let mut acc = make("SUM", &[SqlType::Int], &[]);
    acc.resize(2);
    let ctx = UpdateContext { sequence: &[0, 1] };
    assert!(acc.update(&[ints(&[Some(1), Some(2)])], &[0, 5], &ctx).is_err());
    assert!(acc.update(&[ints(&[Some(1)])], &[0, 1], &ctx).is_err());
    assert!(acc.update(&[], &[0, 1], &ctx).is_err());
    let wrong: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
    assert!(acc.update(&[wrong], &[0, 1], &ctx).is_err());
    assert!(acc.evaluate(&[3]).is_err());
    assert!(acc.merge(0, 0).is_err());
    assert!(acc.merge(0, 9).is_err());
    assert!(acc.load(9, &0i32.to_le_bytes()).is_err());
}

// ---------------------------------------------------------------------------------------------------------------
// Randomized comparison with a naive reference.

/// A tiny deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// How the reference turns a group's live rows `(sequence, value)` (in the order the accumulator saw them,
/// merged groups appended) into the expected output text.
#[derive(Clone, Copy)]
enum Reference {
    CountStar,
    Count,
    SumInt,
    SumDecimal,
    Avg,
    Min,
    Max,
    MaxString,
    StdDevSamp,
    CountDistinct,
    CollectList,
    CollectSetString,
    Earliest,
    Latest,
    LatestWithNulls,
    EarliestString,
    /// `(n, ignore_nulls)`
    EarliestN(usize, bool),
    LatestN(usize, bool),
    TopK(usize),
    TopKDistinct(usize),
    Histogram,
}

/// The text of an INT value as a STRING argument (ordered like the numbers).
fn text(v: i32) -> String {
    format!("s{:02}", v + 50)
}

fn list_text(items: impl IntoIterator<Item = Option<String>>) -> String {
    let items: Vec<String> = items.into_iter().map(|v| v.unwrap_or_default()).collect();
    format!("[{}]", items.join(", "))
}

fn expected(r: Reference, rows: &[(u64, Option<i32>)]) -> String {
    let present: Vec<i32> = rows.iter().filter_map(|r| r.1).collect();
    let by_seq = || {
        let mut v = rows.to_vec();
        v.sort_by_key(|r| r.0);
        v
    };
    let opt = |v: Option<i32>| v.map_or("NULL".to_string(), |v| v.to_string());
    match r {
        Reference::CountStar => rows.len().to_string(),
        Reference::Count => present.len().to_string(),
        Reference::SumInt => present.iter().fold(0i32, |a, b| a.wrapping_add(*b)).to_string(),
        Reference::SumDecimal => {
            let s: i128 = present.iter().map(|v| *v as i128).sum();
            super::sum::format_decimal(s, 2)
        }
        Reference::Avg | Reference::StdDevSamp => unreachable!("compared as numbers"),
        Reference::Min => opt(present.iter().copied().min()),
        Reference::Max => opt(present.iter().copied().max()),
        Reference::MaxString => present.iter().map(|v| text(*v)).max().unwrap_or("NULL".into()),
        Reference::CountDistinct => present.iter().collect::<BTreeSet<_>>().len().to_string(),
        Reference::CollectList => list_text(rows.iter().map(|r| r.1.map(|v| v.to_string()))),
        Reference::CollectSetString => {
            let mut seen = Vec::new();
            for r in rows {
                let v = r.1.map(text);
                if !seen.contains(&v) {
                    seen.push(v);
                }
            }
            list_text(seen)
        }
        Reference::Earliest => opt(by_seq().iter().find_map(|r| r.1)),
        Reference::Latest => opt(by_seq().iter().rev().find_map(|r| r.1)),
        Reference::LatestWithNulls => opt(by_seq().last().and_then(|r| r.1)),
        Reference::EarliestString => by_seq().iter().find_map(|r| r.1).map_or("NULL".into(), text),
        Reference::EarliestN(n, ignore) => list_text(
            by_seq()
                .iter()
                .filter(|r| !ignore || r.1.is_some())
                .take(n)
                .map(|r| r.1.map(|v| v.to_string())),
        ),
        Reference::LatestN(n, ignore) => {
            let kept: Vec<_> = by_seq().into_iter().filter(|r| !ignore || r.1.is_some()).collect();
            list_text(
                kept[kept.len().saturating_sub(n)..]
                    .iter()
                    .map(|r| r.1.map(|v| v.to_string())),
            )
        }
        Reference::TopK(k) => {
            let mut v = present.clone();
            v.sort_unstable_by(|a, b| b.cmp(a));
            list_text(v.into_iter().take(k).map(|v| Some(v.to_string())))
        }
        Reference::TopKDistinct(k) => {
            let v: BTreeSet<i32> = present.iter().copied().collect();
            list_text(v.into_iter().rev().take(k).map(|v| Some(v.to_string())))
        }
        Reference::Histogram => {
            let mut m = BTreeMap::new();
            for v in &present {
                *m.entry(text(*v)).or_insert(0) += 1;
            }
            let parts: Vec<String> = m.iter().map(|(k, c)| format!("{k}: {c}")).collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Sample variance (ksqlDB's STDDEV_SAMP), or the average, of the present values.
fn expected_number(r: Reference, rows: &[(u64, Option<i32>)]) -> f64 {
    let v: Vec<f64> = rows.iter().filter_map(|r| r.1).map(f64::from).collect();
    let n = v.len() as f64;
    match r {
        Reference::Avg => {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / n
            }
        }
        _ => {
            if v.len() < 2 {
                return 0.0;
            }
            let mean = v.iter().sum::<f64>() / n;
            v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)
        }
    }
}

struct Case {
    name: &'static str,
    args: Vec<SqlType>,
    literals: Vec<Option<ScalarValue>>,
    reference: Reference,
}

fn cases() -> Vec<Case> {
    let c = |name, args: Vec<SqlType>, literals: Vec<Option<ScalarValue>>, reference| Case {
        name,
        args,
        literals,
        reference,
    };
    let no_nulls = Some(ScalarValue::Boolean(Some(false)));
    vec![
        c("COUNT", vec![], vec![], Reference::CountStar),
        c("COUNT", vec![SqlType::Int], vec![], Reference::Count),
        c("SUM", vec![SqlType::Int], vec![], Reference::SumInt),
        c(
            "SUM",
            vec![SqlType::decimal(12, 2).unwrap()],
            vec![],
            Reference::SumDecimal,
        ),
        c("AVG", vec![SqlType::Int], vec![], Reference::Avg),
        c("MIN", vec![SqlType::Int], vec![], Reference::Min),
        c("MAX", vec![SqlType::Int], vec![], Reference::Max),
        c("MAX", vec![SqlType::String], vec![], Reference::MaxString),
        c("STDDEV_SAMP", vec![SqlType::Int], vec![], Reference::StdDevSamp),
        c("COUNT_DISTINCT", vec![SqlType::Int], vec![], Reference::CountDistinct),
        c("COLLECT_LIST", vec![SqlType::Int], vec![], Reference::CollectList),
        c(
            "COLLECT_SET",
            vec![SqlType::String],
            vec![],
            Reference::CollectSetString,
        ),
        c("EARLIEST_BY_OFFSET", vec![SqlType::Int], vec![], Reference::Earliest),
        c("LATEST_BY_OFFSET", vec![SqlType::Int], vec![], Reference::Latest),
        c(
            "LATEST_BY_OFFSET",
            vec![SqlType::Int, SqlType::Boolean],
            vec![None, Some(ScalarValue::Boolean(Some(false)))],
            Reference::LatestWithNulls,
        ),
        c(
            "EARLIEST_BY_OFFSET",
            vec![SqlType::String],
            vec![],
            Reference::EarliestString,
        ),
        c(
            "EARLIEST_BY_OFFSET",
            vec![SqlType::Int, SqlType::Int, SqlType::Boolean],
            vec![None, int_lit(3), no_nulls.clone()],
            Reference::EarliestN(3, false),
        ),
        c(
            "LATEST_BY_OFFSET",
            vec![SqlType::Int, SqlType::Int],
            vec![None, int_lit(3)],
            Reference::LatestN(3, true),
        ),
        c(
            "LATEST_BY_OFFSET",
            vec![SqlType::Int, SqlType::Int, SqlType::Boolean],
            vec![None, int_lit(2), no_nulls],
            Reference::LatestN(2, false),
        ),
        c(
            "TOPK",
            vec![SqlType::Int, SqlType::Int],
            vec![None, int_lit(3)],
            Reference::TopK(3),
        ),
        c(
            "TOPKDISTINCT",
            vec![SqlType::Int, SqlType::BigInt],
            vec![None, Some(ScalarValue::Int64(Some(4)))],
            Reference::TopKDistinct(4),
        ),
        c("HISTOGRAM", vec![SqlType::String], vec![], Reference::Histogram),
    ]
}

/// The argument column for a case: INT values as the case's type.
fn column(t: Option<&SqlType>, values: &[Option<i32>]) -> Vec<ArrayRef> {
    match t {
        None => vec![],
        Some(SqlType::String) => {
            vec![Arc::new(StringArray::from(
                values.iter().map(|v| v.map(text)).collect::<Vec<_>>(),
            ))]
        }
        Some(SqlType::Decimal { precision, scale }) => vec![Arc::new(
            Decimal128Array::from(values.iter().map(|v| v.map(|v| v as i128)).collect::<Vec<_>>())
                .with_precision_and_scale(*precision, *scale)
                .unwrap(),
        )],
        Some(_) => vec![ints(values)],
    }
}

fn check_group(
    case: &Case,
    acc: &dyn GroupsAccumulator,
    groups: &[Vec<(u64, Option<i32>)>],
    slots: &[u32],
    step: usize,
) {
    let out = acc.evaluate(slots).unwrap();
    assert_eq!(out.len(), slots.len());
    assert_eq!(
        out.data_type(),
        &call_spec(case.name, &case.args, &case.literals)
            .unwrap()
            .return_type
            .to_arrow()
    );
    match case.reference {
        Reference::Avg | Reference::StdDevSamp => {
            for (got, &s) in doubles(&out).iter().zip(slots) {
                let want = expected_number(case.reference, &groups[s as usize]);
                let tol = 1e-6 * want.abs().max(1.0);
                assert!(
                    (got - want).abs() <= tol,
                    "{} step {step} slot {s}: got {got}, want {want}",
                    case.name
                );
            }
        }
        r => {
            for (got, &s) in show(&out).iter().zip(slots) {
                let want = expected(r, &groups[s as usize]);
                assert_eq!(
                    got, &want,
                    "{} {:?} step {step} slot {s}: {:?}",
                    case.name, case.literals, groups[s as usize]
                );
            }
        }
    }
}

fn run_randomized(case: &Case, seed: u64) {
    let spec = call_spec(case.name, &case.args, &case.literals).unwrap();
    let mut rng = Rng(seed);
    let mut acc = (spec.create)();
    let mut groups: Vec<Vec<(u64, Option<i32>)>> = vec![Vec::new(); 4];
    acc.resize(groups.len());
    let mut seq = 0u64;
    for step in 0..200 {
        // Grow now and then.
        if rng.chance(5) {
            let n = groups.len() + 1 + rng.below(3) as usize;
            groups.resize(n, Vec::new());
            acc.resize(n);
        }
        let n = groups.len() as u64;
        let rows = 1 + rng.below(12) as usize;
        let retract = spec.supports_retract && rng.chance(25);
        let (mut values, mut slots) = (Vec::new(), Vec::new());
        if retract {
            // Remove rows that are live, as a table's old values.
            for _ in 0..rows {
                let g = rng.below(n) as usize;
                if groups[g].is_empty() || rng.chance(10) {
                    values.push(Some(1));
                    slots.push(SKIP);
                    continue;
                }
                let pick = groups[g][rng.below(groups[g].len() as u64) as usize].1;
                let pos = groups[g].iter().rposition(|r| r.1 == pick).unwrap();
                groups[g].remove(pos);
                values.push(pick);
                slots.push(g as u32);
            }
        } else {
            for _ in 0..rows {
                let v = if rng.chance(15) {
                    None
                } else {
                    Some(rng.below(21) as i32 - 10)
                };
                values.push(v);
                if rng.chance(10) {
                    slots.push(SKIP);
                } else {
                    let g = rng.below(n) as usize;
                    slots.push(g as u32);
                    groups[g].push((seq + values.len() as u64 - 1, v));
                }
            }
        }
        let sequence: Vec<u64> = (seq..seq + rows as u64).collect();
        seq += rows as u64;
        let args = column(case.args.first(), &values);
        let ctx = UpdateContext { sequence: &sequence };
        if retract {
            acc.retract(&args, &slots, &ctx).unwrap();
        } else {
            acc.update(&args, &slots, &ctx).unwrap();
        }

        // Merge a random pair of groups (session windows).
        if rng.chance(10) && n >= 2 {
            let into = rng.below(n) as usize;
            let from = (into + 1 + rng.below(n - 1) as usize) % n as usize;
            acc.merge(into as u32, from as u32).unwrap();
            let moved = std::mem::take(&mut groups[from]);
            groups[into].extend(moved);
        }
        if rng.chance(3) {
            let g = rng.below(n);
            acc.reset(g as u32);
            groups[g as usize].clear();
        }
        // Checkpoint round trip into a fresh accumulator, which then carries on.
        if rng.chance(8) {
            let mut fresh = (spec.create)();
            fresh.resize(groups.len());
            for s in 0..groups.len() as u32 {
                let mut bytes = Vec::new();
                acc.save(s, &mut bytes);
                fresh.load(s, &bytes).unwrap();
            }
            acc = fresh;
        }
        // Evaluate a shuffled subset (with repeats).
        let k = 1 + rng.below(n + 2) as usize;
        let subset: Vec<u32> = (0..k).map(|_| rng.below(n) as u32).collect();
        check_group(case, acc.as_ref(), &groups, &subset, step);
    }
    let all: Vec<u32> = (0..groups.len() as u32).collect();
    check_group(case, acc.as_ref(), &groups, &all, usize::MAX);
    assert!(acc.memory_size() > 0 || groups.is_empty());
}

#[test]
fn randomized_against_reference() {
    for case in cases() {
        for seed in [1u64, 0x9e37_79b9, 42, 7_777_777] {
            run_randomized(&case, seed);
        }
    }
}

#[test]
fn corrupt_state_is_an_error_never_a_panic() {
    for case in cases() {
        let spec = call_spec(case.name, &case.args, &case.literals).unwrap();
        let mut acc = (spec.create)();
        acc.resize(2);
        let values: Vec<Option<i32>> = vec![Some(3), None, Some(-4), Some(3), Some(9)];
        update(acc.as_mut(), &column(case.args.first(), &values), &[0, 0, 0, 0, 0], 0);
        let mut good = Vec::new();
        acc.save(0, &mut good);
        let mut fresh = (spec.create)();
        fresh.resize(2);
        fresh.load(1, &good).unwrap();
        assert_eq!(
            show(&fresh.evaluate(&[1]).unwrap()),
            show(&acc.evaluate(&[0]).unwrap()),
            "{}",
            case.name
        );

        let mut bad: Vec<Vec<u8>> = vec![vec![], vec![0xff; 3], vec![0xff; 64], good[..good.len() - 1].to_vec()];
        let mut longer = good.clone();
        longer.push(0);
        bad.push(longer);
        // Every single-byte corruption either loads (still a valid state) or fails; none panics.
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0xa5;
            let _ = fresh.load(1, &b);
            let _ = fresh.evaluate(&[0, 1]);
        }
        for b in bad {
            assert!(fresh.load(1, &b).is_err(), "{} accepted {b:?}", case.name);
        }
    }
}

/// Rough throughput of `update` (run with `cargo test --release --lib aggregate_throughput -- --ignored
/// --nocapture`): 1M rows in batches of 1,000 over 100k groups.
#[test]
#[ignore]
fn aggregate_throughput() {
    let mut rng = Rng(3);
    let batches: Vec<(ArrayRef, Vec<u32>, Vec<u64>)> = (0..1000u64)
        .map(|b| {
            let vals: ArrayRef = Arc::new(Int64Array::from(
                (0..1000).map(|_| rng.below(1_000_000) as i64).collect::<Vec<_>>(),
            ));
            let slots = (0..1000).map(|_| rng.below(100_000) as u32).collect();
            (vals, slots, (b * 1000..b * 1000 + 1000).collect())
        })
        .collect();
    let k3 = [None, Some(ScalarValue::Int32(Some(3)))];
    for (name, args, lits) in [
        ("COUNT", vec![], &[][..]),
        ("SUM", vec![SqlType::BigInt], &[][..]),
        ("MAX", vec![SqlType::BigInt], &[][..]),
        ("STDDEV_SAMP", vec![SqlType::BigInt], &[][..]),
        ("LATEST_BY_OFFSET", vec![SqlType::BigInt], &[][..]),
        ("COUNT_DISTINCT", vec![SqlType::BigInt], &[][..]),
        ("TOPK", vec![SqlType::BigInt, SqlType::Int], &k3[..]),
        ("COLLECT_LIST", vec![SqlType::BigInt], &[][..]),
    ] {
        let mut acc = make(name, &args, lits);
        acc.resize(100_000);
        let start = std::time::Instant::now();
        for (vals, slots, seq) in &batches {
            let args: Vec<ArrayRef> = if args.is_empty() { vec![] } else { vec![vals.clone()] };
            acc.update(&args, slots, &UpdateContext { sequence: seq }).unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{name:>18}: {:>6.1} M rows/s, {:>6.1} MB state",
            1.0 / secs,
            acc.memory_size() as f64 / 1e6
        );
    }
}
