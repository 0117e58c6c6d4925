//! The KAFKA format: one primitive written by Kafka's standard serializers. INT is 4 bytes and BIGINT 8 bytes
//! big-endian two's complement, DOUBLE is 8 bytes big-endian IEEE-754, STRING is UTF-8 (invalid bytes become
//! U+FFFD, as `StringDeserializer` does) and BYTES are the raw bytes. There is no coercion: a payload of the
//! wrong size is an error with the message Kafka's deserializers give.

use bytes::{BufMut, BytesMut};

use super::builder::{ColumnBuilder, Data, I32Kind, I64Kind};
use super::prepared::Prepared;
use super::{RowDecoder, RowEncoder, RowOutcome};
use crate::types::SqlType;

fn fixed<const N: usize>(payload: &[u8], deserializer: &str) -> Result<[u8; N], String> {
    payload
        .try_into()
        .map_err(|_| format!("Size of data received by {deserializer} is not {N}"))
}

/// Decodes one KAFKA-serialized column.
#[derive(Debug)]
pub(crate) struct KafkaDecoder {
    builders: Vec<ColumnBuilder>,
}

impl KafkaDecoder {
    pub(crate) fn new(ty: &SqlType) -> Self {
        KafkaDecoder {
            builders: vec![ColumnBuilder::new(ty)],
        }
    }
}

impl RowDecoder for KafkaDecoder {
    fn builders(&mut self) -> &mut [ColumnBuilder] {
        &mut self.builders
    }

    fn decode_row(&mut self, _row: usize, payload: &[u8]) -> Result<RowOutcome, String> {
        let Some(b) = self.builders.first_mut() else {
            return Ok(RowOutcome::Row);
        };
        match &b.data {
            Data::I32(I32Kind::Int, _) => {
                let v = i32::from_be_bytes(fixed::<4>(payload, "IntegerDeserializer")?);
                b.push_i32(v);
            }
            Data::I64(I64Kind::BigInt, _) => {
                let v = i64::from_be_bytes(fixed::<8>(payload, "LongDeserializer")?);
                b.push_i64(v);
            }
            Data::F64(_) => {
                let v = f64::from_be_bytes(fixed::<8>(payload, "DoubleDeserializer")?);
                b.push_f64(v);
            }
            Data::Bytes { utf8: true, .. } => {
                let text = String::from_utf8_lossy(payload);
                b.push_bytes(text.as_bytes()).map_err(|e| e.to_string())?;
            }
            Data::Bytes { utf8: false, .. } => b.push_bytes(payload).map_err(|e| e.to_string())?,
            _ => {
                return Err(format!("The 'KAFKA' format does not support type '{}'", b.ty));
            }
        }
        Ok(RowOutcome::Row)
    }
}

/// Encodes one column with Kafka's standard serializers; a null value has no bytes.
#[derive(Debug)]
pub(crate) struct KafkaEncoder;

impl RowEncoder for KafkaEncoder {
    fn encode_row(&mut self, cols: &[Prepared], i: usize, out: &mut BytesMut) -> bool {
        let Some(p) = cols.first() else {
            return false;
        };
        if p.is_null(i) {
            return false;
        }
        match p {
            Prepared::Int(a) => out.put_i32(a.value(i)),
            Prepared::BigInt(a) => out.put_i64(a.value(i)),
            Prepared::Double(a) => out.put_f64(a.value(i)),
            Prepared::String(a) => out.put_slice(a.value(i).as_bytes()),
            Prepared::Bytes(a) => out.put_slice(a.value(i)),
            // Other types are rejected by `validate` before an encoder exists.
            _ => return false,
        }
        true
    }
}
