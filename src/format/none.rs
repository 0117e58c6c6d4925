//! The NONE format (and any codec with no columns): nothing is read from the bytes and nothing is written,
//! like ksqlDB's `KsqlVoidSerde`.

use bytes::BytesMut;

use super::builder::ColumnBuilder;
use super::prepared::Prepared;
use super::{RowDecoder, RowEncoder, RowOutcome};

/// Ignores every payload.
#[derive(Debug, Default)]
pub(crate) struct NoneDecoder;

impl RowDecoder for NoneDecoder {
    fn builders(&mut self) -> &mut [ColumnBuilder] {
        &mut []
    }

    fn decode_row(&mut self, _row: usize, _payload: &[u8]) -> Result<RowOutcome, String> {
        Ok(RowOutcome::Row)
    }
}

/// Produces no bytes for any row.
#[derive(Debug, Default)]
pub(crate) struct NoneEncoder;

impl RowEncoder for NoneEncoder {
    fn encode_row(&mut self, _cols: &[Prepared], _i: usize, _out: &mut BytesMut) -> bool {
        false
    }
}
