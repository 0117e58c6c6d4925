//! The `format` layer: codecs between record bytes (keys and values) and Arrow arrays for ksqlDB's JSON,
//! DELIMITED, KAFKA and NONE formats, with ksqlDB's serialization semantics.
//!
//! A source builds one [`Decoder`] per key and value from its [`FormatOptions`] and ordered columns, then
//! feeds it batches of payloads: [`Decoder::decode`] returns one Arrow array per column plus the rows that
//! could not be decoded (which belong in the dead letters with their raw bytes). A sink builds an
//! [`Encoder`] and turns the arrays of a batch into one payload per row. [`validate`] checks at planning time
//! that the columns fit the format, so bad `WITH` clauses fail the statement rather than every record.
//!
//! # Example
//! ```
//! use weir::format::{Decoder, Encoder, FormatKind, FormatOptions};
//! use weir::types::SqlType;
//!
//! let opts = FormatOptions::new(FormatKind::Json);
//! let cols = vec![("ID".to_string(), SqlType::BigInt), ("NAME".to_string(), SqlType::String)];
//! let mut decoder = Decoder::new(&opts, &cols, false).unwrap();
//! let decoded = decoder.decode(&[Some(br#"{"id": 1, "name": "a"}"#.as_slice()), Some(b"oops"), None]);
//! assert_eq!(decoded.arrays.len(), 2);
//! assert_eq!(decoded.errors.len(), 1);
//! assert_eq!(decoded.errors[0].0, 1);
//! assert_eq!(decoded.null_rows, vec![2]);
//!
//! let mut encoder = Encoder::new(&opts, &cols, false).unwrap();
//! let out = encoder.encode(&decoded.arrays, 3).unwrap();
//! assert_eq!(out[0].as_deref(), Some(br#"{"ID":1,"NAME":"a"}"#.as_slice()));
//! ```

mod builder;
mod delimited;
mod error;
mod java;
mod json;
mod kafka;
mod none;
mod options;
mod prepared;
mod validate;

#[cfg(test)]
mod tests;

use bytes::{Bytes, BytesMut};
use datafusion::arrow::array::ArrayRef;

pub use error::{FormatError, Target};
pub use options::{FormatKind, FormatOptions, SUPPORTED_FORMATS, parse_delimiter};
pub use validate::validate;

use builder::ColumnBuilder;
use prepared::Prepared;

use crate::types::SqlType;

/// The result of decoding a batch of payloads.
#[derive(Debug)]
pub struct Decoded {
    /// One array per column, in column order, each as long as the batch. Rows with errors are null.
    pub arrays: Vec<ArrayRef>,
    /// Rows that could not be decoded, with the reason, in row order. The caller routes them to the dead
    /// letters together with their raw bytes.
    pub errors: Vec<(usize, FormatError)>,
    /// Rows that are SQL NULL as a whole: the payload was absent, or it decoded to a null record (JSON
    /// `null`, or an unwrapped single column whose value is null). ksqlDB treats these like tombstones, unlike
    /// a row whose columns merely happen to be null.
    pub null_rows: Vec<usize>,
}

/// How one successfully decoded payload turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowOutcome {
    /// One row was appended to every builder.
    Row,
    /// The payload is a null record; the driver appends the nulls.
    NullRecord,
}

/// One codec's record-level decoding, driven by [`decode_batch`].
pub(crate) trait RowDecoder {
    fn builders(&mut self) -> &mut [ColumnBuilder];

    /// Decodes one payload into row `row`. On `Ok(Row)` every builder holds exactly `row + 1` rows; on an
    /// error or a null record the builders may hold partial data, which the driver rolls back.
    fn decode_row(&mut self, row: usize, payload: &[u8]) -> Result<RowOutcome, String>;
}

fn null_row(builders: &mut [ColumnBuilder], row: usize) {
    for b in builders {
        b.truncate(row);
        b.append_null();
    }
}

fn decode_batch(d: &mut impl RowDecoder, payloads: &[Option<&[u8]>], target: Target) -> Decoded {
    let mut errors = Vec::new();
    let mut null_rows = Vec::new();
    for (row, payload) in payloads.iter().enumerate() {
        let Some(bytes) = payload else {
            null_row(d.builders(), row);
            null_rows.push(row);
            continue;
        };
        match d.decode_row(row, bytes) {
            Ok(RowOutcome::Row) if d.builders().iter().all(|b| b.len() == row + 1) => {}
            Ok(RowOutcome::Row) => {
                null_row(d.builders(), row);
                errors.push((
                    row,
                    FormatError::Deserialize {
                        target,
                        message: "internal error: the decoder produced misaligned columns".into(),
                    },
                ));
            }
            Ok(RowOutcome::NullRecord) => {
                null_row(d.builders(), row);
                null_rows.push(row);
            }
            Err(message) => {
                null_row(d.builders(), row);
                errors.push((row, FormatError::Deserialize { target, message }));
            }
        }
    }
    let arrays = d.builders().iter_mut().map(ColumnBuilder::finish).collect();
    Decoded {
        arrays,
        errors,
        null_rows,
    }
}

#[derive(Debug)]
enum DecoderKind {
    Json(json::JsonDecoder),
    Delimited(delimited::DelimitedDecoder),
    Kafka(kafka::KafkaDecoder),
    None(none::NoneDecoder),
}

/// Decodes the keys or the values of one source. Built once, reused for every batch; it keeps its buffers
/// between batches, so it is not shared between threads (make one per partition reader).
#[derive(Debug)]
pub struct Decoder {
    kind: DecoderKind,
    target: Target,
}

impl Decoder {
    /// A decoder for `fields` (in the order they are serialized) as a key (`is_key`) or value format. Fails
    /// like [`validate`] when the columns do not fit the format.
    pub fn new(options: &FormatOptions, fields: &[(String, SqlType)], is_key: bool) -> Result<Self, FormatError> {
        validate(options, fields, is_key)?;
        let unwrapped = unwrap_single(options, fields, is_key);
        let kind = match (options.kind, fields) {
            (FormatKind::None, _) | (_, []) => DecoderKind::None(none::NoneDecoder),
            (FormatKind::Json, _) => DecoderKind::Json(json::JsonDecoder::new(fields, unwrapped)),
            (FormatKind::Delimited, _) => {
                DecoderKind::Delimited(delimited::DelimitedDecoder::new(fields, options.delimiter))
            }
            (FormatKind::Kafka, [(_, ty)]) => DecoderKind::Kafka(kafka::KafkaDecoder::new(ty)),
            (FormatKind::Kafka, _) => {
                return Err(FormatError::Schema(
                    "The 'KAFKA' format only supports a single field.".into(),
                ));
            }
        };
        Ok(Decoder {
            kind,
            target: Target::from_is_key(is_key),
        })
    }

    /// Decodes a batch: `None` payloads (absent keys or values) become null rows without an error.
    /// Never panics, whatever the bytes.
    pub fn decode(&mut self, payloads: &[Option<&[u8]>]) -> Decoded {
        match &mut self.kind {
            DecoderKind::Json(d) => decode_batch(d, payloads, self.target),
            DecoderKind::Delimited(d) => decode_batch(d, payloads, self.target),
            DecoderKind::Kafka(d) => decode_batch(d, payloads, self.target),
            DecoderKind::None(d) => decode_batch(d, payloads, self.target),
        }
    }
}

/// True when a single column is written without a surrounding record: always for keys, for values when
/// `WRAP_SINGLE_VALUE=false`, and always for KAFKA (which has no records).
fn unwrap_single(options: &FormatOptions, fields: &[(String, SqlType)], is_key: bool) -> bool {
    fields.len() == 1 && (is_key || options.kind == FormatKind::Kafka || options.wrap_single_value == Some(false))
}

/// One codec's record-level encoding, driven by [`Encoder::encode`].
pub(crate) trait RowEncoder {
    /// Appends row `i` to `out`; returns false when the row has no bytes (the caller gets `None`).
    fn encode_row(&mut self, cols: &[Prepared], i: usize, out: &mut BytesMut) -> bool;
}

#[derive(Debug)]
enum EncoderKind {
    Json(json::JsonEncoder),
    Delimited(delimited::DelimitedEncoder),
    Kafka(kafka::KafkaEncoder),
    None(none::NoneEncoder),
}

/// Encodes the keys or the values of one sink.
///
/// All rows of a batch are written into one buffer and handed out as [`Bytes`] slices of it, so encoding
/// allocates per batch, not per row. Input arrays whose Arrow type differs from the declared column type
/// (`Int64` for an `INT`, `Utf8View` or `LargeUtf8` strings, other timestamp units, dictionaries, large
/// lists) are converted first with `arrow::compute::cast`.
#[derive(Debug)]
pub struct Encoder {
    kind: EncoderKind,
    fields: Vec<(String, SqlType)>,
    target: Target,
    buf: BytesMut,
    spans: Vec<Option<(usize, usize)>>,
    bytes_per_row: usize,
}

impl Encoder {
    /// An encoder for `fields` as a key (`is_key`) or value format. Fails like [`validate`].
    pub fn new(options: &FormatOptions, fields: &[(String, SqlType)], is_key: bool) -> Result<Self, FormatError> {
        validate(options, fields, is_key)?;
        let unwrapped = unwrap_single(options, fields, is_key);
        let kind = match (options.kind, fields) {
            (FormatKind::None, _) | (_, []) => EncoderKind::None(none::NoneEncoder),
            (FormatKind::Json, _) => EncoderKind::Json(json::JsonEncoder::new(fields, unwrapped)),
            (FormatKind::Delimited, _) => EncoderKind::Delimited(delimited::DelimitedEncoder::new(options.delimiter)),
            (FormatKind::Kafka, _) => EncoderKind::Kafka(kafka::KafkaEncoder),
        };
        Ok(Encoder {
            kind,
            fields: fields.to_vec(),
            target: Target::from_is_key(is_key),
            buf: BytesMut::new(),
            spans: Vec::new(),
            bytes_per_row: 64,
        })
    }

    fn error(&self, message: String) -> FormatError {
        FormatError::Serialize {
            target: self.target,
            message,
        }
    }

    /// Encodes `rows` rows from one array per column (in column order). Returns one payload per row; `None`
    /// means the row has no bytes: the NONE format, a key-less codec, or an unwrapped single column (KAFKA,
    /// JSON keys, `WRAP_SINGLE_VALUE=false`) whose value is null. A whole null row is the caller's tombstone to
    /// produce; wrapped formats write its columns as nulls (`{"A":null}`, `,`).
    pub fn encode(&mut self, arrays: &[ArrayRef], rows: usize) -> Result<Vec<Option<Bytes>>, FormatError> {
        if arrays.len() != self.fields.len() {
            return Err(self.error(format!(
                "expected {} columns ({}), got {} arrays",
                self.fields.len(),
                self.fields
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                arrays.len()
            )));
        }
        let mut cols = Vec::with_capacity(arrays.len());
        for (array, (name, ty)) in arrays.iter().zip(&self.fields) {
            if array.len() != rows {
                return Err(self.error(format!("column `{name}` has {} values for {rows} rows", array.len())));
            }
            cols.push(Prepared::new(array, ty).map_err(|m| self.error(format!("column `{name}`: {m}")))?);
        }
        self.buf.clear();
        self.buf.reserve(rows.saturating_mul(self.bytes_per_row));
        self.spans.clear();
        for i in 0..rows {
            let start = self.buf.len();
            let written = match &mut self.kind {
                EncoderKind::Json(e) => e.encode_row(&cols, i, &mut self.buf),
                EncoderKind::Delimited(e) => e.encode_row(&cols, i, &mut self.buf),
                EncoderKind::Kafka(e) => e.encode_row(&cols, i, &mut self.buf),
                EncoderKind::None(e) => e.encode_row(&cols, i, &mut self.buf),
            };
            if written {
                self.spans.push(Some((start, self.buf.len())));
            } else {
                self.buf.truncate(start);
                self.spans.push(None);
            }
        }
        if let Some(per_row) = self.buf.len().checked_div(rows) {
            self.bytes_per_row = per_row.clamp(8, 64 * 1024);
        }
        let all = self.buf.split().freeze();
        Ok(self
            .spans
            .iter()
            .map(|span| span.and_then(|(s, e)| all.get(s..e).map(|_| all.slice(s..e))))
            .collect())
    }
}
