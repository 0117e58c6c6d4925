//! Fuzzes every decoder of the `format` layer: whatever the bytes, decoding must not panic, must return one
//! array per column with one value per payload, must null out the rows it reports as errors, and whatever it
//! decoded must encode again.
//!
//! Input layout: the first byte picks a codec (format, columns, key or value); the rest is split into
//! payloads at 0x1E bytes, and a payload that is exactly 0x1F stands for an absent (`None`) payload.
//!
//! Run with `cargo +nightly fuzz run decoders` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weir::format::{Decoder, Encoder, FormatKind, FormatOptions};
use weir::types::SqlType;

type Codec = (FormatOptions, Vec<(String, SqlType)>, bool);

fn col(name: &str, ty: SqlType) -> (String, SqlType) {
    (name.to_string(), ty)
}

fn codecs() -> Vec<Codec> {
    let json = FormatOptions::new(FormatKind::Json);
    let unwrapped = json.clone().with_wrap_single_value(Some(false));
    let delimited = FormatOptions::new(FormatKind::Delimited);
    let kafka = FormatOptions::new(FormatKind::Kafka);
    let decimal = |p, s| SqlType::decimal(p, s).unwrap_or(SqlType::Double);
    let array = |t| SqlType::Array(Box::new(t));
    let map = |t| SqlType::Map(Box::new(SqlType::String), Box::new(t));
    let scalars = vec![
        col("B", SqlType::Boolean),
        col("I", SqlType::Int),
        col("BI", SqlType::BigInt),
        col("D", SqlType::Double),
        col("DEC", decimal(10, 2)),
        col("S", SqlType::String),
        col("BY", SqlType::Bytes),
        col("TS", SqlType::Timestamp),
        col("DT", SqlType::Date),
        col("TM", SqlType::Time),
    ];
    let nested = vec![
        col("L", array(array(SqlType::Int))),
        col("M", map(SqlType::Struct(vec![("X".into(), decimal(5, 2)), ("x".into(), SqlType::String)]))),
        col("S", SqlType::Struct(vec![("IN".into(), array(SqlType::Boolean))])),
        col("T", SqlType::String),
    ];
    let mut codecs = vec![
        (json.clone(), scalars.clone(), false),
        (json.clone(), nested.clone(), false),
        (json.clone(), vec![col("K", SqlType::String)], true),
        (json.clone(), vec![col("K1", SqlType::Int), col("K2", SqlType::Double)], true),
        (unwrapped.clone(), vec![col("V", array(SqlType::String))], false),
        (unwrapped.clone(), vec![col("V", nested[1].1.clone())], false),
        (delimited.clone(), scalars, false),
        (delimited.with_delimiter('§'), vec![col("A", SqlType::String), col("B", decimal(3, 1))], true),
        (FormatOptions::new(FormatKind::None), vec![], true),
    ];
    for ty in [SqlType::Int, SqlType::BigInt, SqlType::Double, SqlType::String, SqlType::Bytes] {
        codecs.push((kafka.clone(), vec![col("V", ty)], false));
    }
    codecs
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let codecs = codecs();
    let (options, fields, is_key) = &codecs[usize::from(selector) % codecs.len()];
    let payloads: Vec<Option<&[u8]>> = rest
        .split(|&b| b == 0x1e)
        .map(|p| if p == [0x1f] { None } else { Some(p) })
        .collect();

    let mut decoder = Decoder::new(options, fields, *is_key).expect("the fuzzed codecs are valid");
    let decoded = decoder.decode(&payloads);
    assert_eq!(decoded.arrays.len(), fields.len());
    for array in &decoded.arrays {
        assert_eq!(array.len(), payloads.len());
        array.to_data().validate_full().expect("decoded arrays are valid Arrow data");
    }
    for (row, _) in &decoded.errors {
        assert!(decoded.arrays.iter().all(|a| a.is_null(*row)), "rows with errors are null");
    }

    let mut encoder = Encoder::new(options, fields, *is_key).expect("the fuzzed codecs are valid");
    let encoded = encoder.encode(&decoded.arrays, payloads.len()).expect("decoded rows encode");
    assert_eq!(encoded.len(), payloads.len());
});
