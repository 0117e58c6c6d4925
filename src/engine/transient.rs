//! Transient queries: push queries (`SELECT ... EMIT CHANGES`) and bounded scans of streams, started for one
//! client and listed by `SHOW QUERIES` while they run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use datafusion::arrow::record_batch::RecordBatch;
use tokio::sync::mpsc;

use crate::exec::{
    PushEnd, PushMessage, SourceDecoder, StartPosition, StatelessSpec, StatelessTransform, TransientQuery,
};
use crate::plan::plan_transient;
use crate::plan::properties::format_options;
use crate::sql::ast::{ParsedStatement, Statement};
use crate::state::TopicPartition;
use crate::types::LogicalSchema;

use super::{Engine, EngineError, QueryInfo, Session};

/// Rows a transient query may have in flight to a slow client before it waits.
const CHANNEL_BATCHES: usize = 4;

/// A running transient query, as its client sees it.
pub struct TransientHandle {
    pub id: String,
    /// The result columns.
    pub schema: LogicalSchema,
    /// Result batches, then one `End`.
    pub rows: mpsc::Receiver<PushMessage>,
    /// Whether this follows new data (`EMIT CHANGES`) or scans what is there.
    pub push: bool,
    stop: Arc<AtomicBool>,
    registry: Arc<TransientRegistry>,
}

impl TransientHandle {
    /// Stops the query (also done on drop, e.g. when the client disconnects).
    pub fn close(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Drop for TransientHandle {
    fn drop(&mut self) {
        self.close();
        self.registry.queries.lock().remove(&self.id);
    }
}

/// The transient queries that are running, for `SHOW QUERIES` and `/close-query`.
#[derive(Default)]
pub struct TransientRegistry {
    queries: parking_lot::Mutex<BTreeMap<String, (String, Arc<AtomicBool>)>>,
    next: AtomicU64,
}

impl Engine {
    /// Starts a transient query for `statement` (which must be a `SELECT`).
    pub fn start_transient(&self, parsed: &ParsedStatement, session: &Session) -> Result<TransientHandle, EngineError> {
        let Statement::Select(query) = &parsed.statement else {
            return Err(EngineError::invalid(format!(
                "Only SELECT statements can run as queries here, not: {}",
                parsed.text
            )));
        };
        // Without EMIT CHANGES, a table is queried for its current rows, not its changelog.
        let pull_table = {
            let catalog = self.catalog.read();
            catalog
                .source(&query.from.source.name)
                .filter(|s| s.kind == crate::sql::ast::SourceKind::Table && query.emit.is_none())
                .cloned()
        };
        if let Some(table) = pull_table {
            return self
                .start_table_pull(query, &table)
                .map_err(|e| e.with_statement(&parsed.text));
        }
        let plan = {
            let catalog = self.catalog.read();
            plan_transient(&self.session_state, &catalog, query)
                .map_err(|e| EngineError::from(e).with_statement(&parsed.text))?
        };
        let n = self.transient.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("transient_{}_{}", plan.source.name, n);
        let query_id: Arc<str> = Arc::from(id.as_str());
        let source = SourceDecoder::new(
            query_id.clone(),
            plan.source.kind,
            &plan.source.schema,
            &format_options(&plan.source.key_format)?,
            &format_options(&plan.source.value_format)?,
            plan.source_timestamp.clone(),
        )?;
        let spec = StatelessSpec {
            query_id: query_id.clone(),
            filter: plan.filter.clone(),
            columns: plan.columns.clone(),
            key_columns: 0,
            result_schema: plan.result_schema.clone(),
            sink_timestamp: None,
            table: plan.source.kind == crate::sql::ast::SourceKind::Table,
        };
        let start = match session.get("auto.offset.reset").map(str::to_ascii_lowercase).as_deref() {
            Some("earliest") => StartPosition::Earliest,
            // A bounded scan reads what is there; a push query starts at the end, as in ksqlDB.
            _ if !plan.push => StartPosition::Earliest,
            _ => StartPosition::Latest,
        };
        let info = self.store.describe_topic(&plan.source.topic)?.ok_or_else(|| {
            EngineError::not_found(format!(
                "topic {} of {} does not exist",
                plan.source.topic, plan.source.name
            ))
        })?;
        let mut positions = BTreeMap::new();
        let mut ends = BTreeMap::new();
        for p in 0..info.partitions {
            let offsets = self.store.offsets(&plan.source.topic, p)?;
            let tp = TopicPartition::new(plan.source.topic.as_str(), p);
            positions.insert(
                tp.clone(),
                match start {
                    StartPosition::Earliest => offsets.earliest,
                    StartPosition::Latest => offsets.end,
                },
            );
            ends.insert(tp, offsets.end);
        }
        let query = TransientQuery {
            id: query_id,
            transform: StatelessTransform::new(spec, source),
            store: self.store.clone(),
            dead_letter_topic: Arc::from(self.processing_log.topic.as_str()),
            positions,
            end_offsets: (!plan.push).then_some(ends),
            limit: plan.limit,
            output_columns: plan.columns.len(),
            batch_size: self.config.processing.batch_size,
            clock: self.clock,
        };
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        let stop = Arc::new(AtomicBool::new(false));
        self.transient
            .queries
            .lock()
            .insert(id.clone(), (parsed.text.clone(), stop.clone()));
        let thread_stop = stop.clone();
        std::thread::Builder::new()
            .name("transient".into())
            .spawn(move || query.run(tx, thread_stop))
            .map_err(|e| EngineError::invalid(format!("cannot start the query: {e}")))?;
        Ok(TransientHandle {
            id,
            schema: plan.schema,
            rows: rx,
            push: plan.push,
            stop,
            registry: self.transient.clone(),
        })
    }

    /// A pull query over a table: its current rows, filtered and projected, delivered as one finished query.
    fn start_table_pull(
        &self,
        query: &crate::sql::ast::Query,
        table: &crate::catalog::SourceDef,
    ) -> Result<TransientHandle, EngineError> {
        use crate::exec::eval::{evaluate_isolating, evaluate_predicate};
        use datafusion::arrow::compute::filter_record_batch;

        let pull_schema = self.table_schema(table);
        let plan = {
            let catalog = self.catalog.read();
            crate::plan::plan_table_pull(&self.session_state, &catalog, query, pull_schema)?
        };
        let (_, batches) = self.table_rows(&table.name, plan.key.as_deref())?;
        let result_schema = plan.schema.arrow_schema();
        let mut out: Vec<RecordBatch> = Vec::new();
        let mut remaining = plan.limit.map(|l| l as usize);
        for batch in batches {
            if remaining == Some(0) {
                break;
            }
            let batch = match &plan.filter {
                Some(f) => {
                    let (mask, _) = evaluate_predicate(f.as_ref(), &batch);
                    filter_record_batch(&batch, &mask)?
                }
                None => batch,
            };
            if batch.num_rows() == 0 {
                continue;
            }
            let columns = plan
                .columns
                .iter()
                .map(|c| evaluate_isolating(c.expr.as_ref(), &batch, &c.data_type).0)
                .collect::<Vec<_>>();
            let mut projected = RecordBatch::try_new(result_schema.clone(), columns)?;
            if let Some(r) = remaining.as_mut() {
                let n = projected.num_rows().min(*r);
                projected = projected.slice(0, n);
                *r -= n;
            }
            out.push(projected);
        }
        Ok(self.finished_query(&table.name, plan.schema, out))
    }

    /// A pull query whose rows are all computed (`source` names its id): the rows, then the end, for a client to
    /// read like any other query.
    pub fn finished_query(&self, source: &str, schema: LogicalSchema, batches: Vec<RecordBatch>) -> TransientHandle {
        let n = self.transient.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("pull_{source}_{n}");
        let (tx, rx) = mpsc::channel(batches.len() + 1);
        for batch in batches {
            let _ = tx.try_send(PushMessage::Rows(batch));
        }
        let _ = tx.try_send(PushMessage::End(PushEnd::Completed));
        TransientHandle {
            id,
            schema,
            rows: rx,
            push: false,
            stop: Arc::new(AtomicBool::new(false)),
            registry: self.transient.clone(),
        }
    }

    /// Stops a transient query by id (`/close-query`). Returns whether it was running.
    pub fn close_transient(&self, id: &str) -> bool {
        match self.transient.queries.lock().get(id) {
            Some((_, stop)) => {
                stop.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// The running transient queries, for `SHOW QUERIES`.
    pub(super) fn transient_infos(&self) -> Vec<QueryInfo> {
        self.transient
            .queries
            .lock()
            .iter()
            .map(|(id, (sql, _))| QueryInfo {
                id: id.clone(),
                sql: sql.clone(),
                sinks: vec![],
                sink_topics: vec![],
                state: "RUNNING".to_string(),
                query_type: "PUSH",
                error: None,
            })
            .collect()
    }
}
