//! [`MaterializePipeline`]: keeps a declared table's view up to date from its topic (`CREATE SOURCE TABLE`,
//! ksqlDB's `CST_` queries). The latest record of each key wins; a null value deletes the key.

use super::ExecError;
use super::pipeline::{Pipeline, PipelineOutput, ViewUpdate};
use super::source::{SourceCounters, SourceDecoder};
use crate::topics::ConsumedRecord;

pub struct MaterializePipeline {
    source: SourceDecoder,
    null_keys: u64,
}

impl MaterializePipeline {
    pub fn new(source: SourceDecoder) -> Self {
        MaterializePipeline { source, null_keys: 0 }
    }
}

impl Pipeline for MaterializePipeline {
    fn process(&mut self, records: &[ConsumedRecord], out: &mut PipelineOutput) -> Result<(), ExecError> {
        // Decoding validates the record: what does not decode goes to the dead letters, not into the view.
        let decoded = self.source.decode(records, &mut out.dead_letters)?;
        for &i in &decoded.origin {
            let r = &records[i];
            let Some(key) = &r.record.key else {
                self.null_keys += 1;
                continue;
            };
            out.view_updates.push(ViewUpdate {
                key: key.to_vec(),
                value: r.record.value.clone().map(|v| (r.record.timestamp, v)),
            });
        }
        Ok(())
    }

    fn source_counters(&self) -> SourceCounters {
        let mut c = self.source.counters;
        c.null_keys_skipped += self.null_keys;
        c
    }
}
