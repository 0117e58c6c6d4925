//! A Weir source read from its topic, as a DataFusion table: each query scans the topic up to the end offsets it
//! has when the query is planned ([`super::scan`]).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use super::scan::{ScanSpec, scan_source};
use super::view::run_blocking;
use crate::topics::TopicStore;

/// A stream or table scanned from its topic.
pub struct SourceTable {
    spec: ScanSpec,
    schema: SchemaRef,
    store: Arc<dyn TopicStore>,
}

impl SourceTable {
    pub fn new(spec: ScanSpec, store: Arc<dyn TopicStore>) -> Self {
        let schema = spec.source.schema.source_batch_schema();
        SourceTable { spec, schema, store }
    }
}

impl std::fmt::Debug for SourceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceTable").field("spec", &self.spec).finish()
    }
}

#[async_trait]
impl TableProvider for SourceTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // No filter is pushed down (the default), so a limit here bounds the rows the query reads.
        let limit = if filters.is_empty() { limit } else { None };
        let store = self.store.clone();
        let spec = self.spec.clone();
        let output = run_blocking(move || scan_source(store.as_ref(), &spec, limit)).await?;
        if output.skipped > 0 {
            tracing::debug!(
                source = %self.spec.source.name,
                skipped = output.skipped,
                "pull scan skipped records that do not decode"
            );
        }
        Ok(MemorySourceConfig::try_new_exec(
            &[output.batches],
            self.schema.clone(),
            projection.cloned(),
        )?)
    }
}
