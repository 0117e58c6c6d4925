//! Persistent queries: `CREATE ... AS SELECT`, `INSERT INTO ... SELECT`, `TERMINATE`, and starting their tasks.

use std::sync::Arc;
use std::time::Duration;

use crate::catalog::{QueryDef, QueryKind};
use crate::exec::aggregate::{AggregateCodecs, AggregateInput, AggregatePipeline, AggregateSpecs};
use crate::exec::{
    Pipeline, QueryStats, QueryTask, SinkEncoder, SourceDecoder, StartPosition, StatelessPipeline, StatelessSpec,
    TaskConfig,
};
use crate::format::{Decoder, Encoder};
use crate::plan::properties::format_options;
use crate::plan::{AggregatePlan, AggregateSink, PersistentPlan, SinkTarget, plan_aggregate, plan_persistent};
use crate::sql::ast::{CreateAsSelect, ParsedStatement, Query, SourceKind, TerminateTarget};
use crate::state::MaterializedView;

use super::{CommandStatus, Engine, EngineError, ExecContext, Session, StatementResult};

/// The property that sizes a query's emission cache (ksqlDB's `ksql.streams.cache.max.bytes.buffering`).
const CACHE_PROPERTY: &str = "cache.max.bytes.buffering";

/// The session's `cache.max.bytes.buffering`, checked before the statement is logged so a bad value never
/// reaches the command log.
fn cache_property(session: &Session) -> Result<Option<usize>, EngineError> {
    let Some(value) = session.get(CACHE_PROPERTY) else {
        return Ok(None);
    };
    value.trim().parse::<usize>().map(Some).map_err(|_| {
        EngineError::invalid(format!(
            "Invalid value for '{CACHE_PROPERTY}': '{value}'. Give a number of bytes (0 emits every update)."
        ))
    })
}

impl Engine {
    pub(super) fn create_as_select(
        &self,
        stmt: &CreateAsSelect,
        parsed: &ParsedStatement,
        session: &Session,
        ctx: ExecContext,
    ) -> Result<StatementResult, EngineError> {
        cache_property(session)?;
        let existing = self.catalog.read().source(&stmt.name).cloned();
        let prefix = match stmt.kind {
            SourceKind::Stream => "CSAS",
            SourceKind::Table => "CTAS",
        };
        let noun = stmt.kind.as_str().to_lowercase();
        let mut query_id = format!("{prefix}_{}_{}", stmt.name, ctx.seq);
        if let Some(existing) = &existing {
            if stmt.if_not_exists {
                return Ok(StatementResult::Status(CommandStatus {
                    message: format!(
                        "Cannot add {noun} {}: A {} with the same name already exists.",
                        stmt.name,
                        existing.kind_name().to_lowercase()
                    ),
                    command_seq: None,
                    query_id: None,
                    warnings: vec![format!("{} already exists; nothing was changed.", stmt.name)],
                }));
            }
            if !stmt.or_replace {
                return Err(EngineError::invalid(format!(
                    "Cannot add {noun} '{}': A {} with the same name already exists",
                    stmt.name,
                    existing.kind_name().to_lowercase()
                )));
            }
            // CREATE OR REPLACE keeps the query id, so the new query resumes from the old one's checkpoint.
            match &existing.created_by {
                Some(id) => query_id = id.clone(),
                None => {
                    return Err(EngineError::invalid(format!(
                        "Cannot replace {} with a query: it was declared with CREATE {}, not created by a query.",
                        stmt.name,
                        existing.kind.as_str()
                    )));
                }
            }
        }
        let plan = self.plan_create_as_select(stmt, parsed, &query_id)?;
        if plan.source().name == stmt.name {
            return Err(EngineError::invalid(format!(
                "Cannot create {} from itself: a query cannot read and write the same source.",
                stmt.name
            )));
        }
        if let Some(existing) = &existing {
            check_sink_upgrade(existing, plan.sink())?;
        }
        let explicit_partitions = stmt.properties.get("PARTITIONS").is_some();
        let mut plan = plan;
        let partitions = self.ensure_topic(&plan.sink().topic, plan.sink().partitions, explicit_partitions)?;
        plan.sink_mut().partitions = partitions;
        self.log_command(parsed, session, ctx)?;
        let def = QueryDef {
            id: query_id.clone(),
            kind: QueryKind::CreateAsSelect,
            sql: parsed.text.clone(),
            sink: stmt.name.clone(),
            sources: vec![plan.source().name.clone()],
        };
        if existing.is_some() && !ctx.replaying {
            self.runtime.stop(&query_id);
        }
        {
            let mut catalog = self.catalog.write();
            catalog.add_source(plan.sink().clone(), stmt.or_replace)?;
            catalog.add_query(def);
        }
        self.register_plan(&query_id, plan, session, ctx)?;
        Ok(StatementResult::Status(CommandStatus {
            message: format!("Created query with ID {query_id}"),
            command_seq: Some(ctx.seq),
            query_id: Some(query_id),
            warnings: vec![],
        }))
    }

    pub(super) fn insert_select(
        &self,
        target: &str,
        query: &Query,
        parsed: &ParsedStatement,
        session: &Session,
        ctx: ExecContext,
    ) -> Result<StatementResult, EngineError> {
        cache_property(session)?;
        let sink = self
            .catalog
            .read()
            .source(target)
            .cloned()
            .ok_or_else(|| EngineError::not_found(format!("Source `{target}` does not exist.")))?;
        if sink.is_source {
            return Err(EngineError::invalid(format!(
                "Cannot insert into read-only {} {target}: it was created with CREATE SOURCE or is a system stream.",
                sink.kind_name().to_lowercase()
            )));
        }
        if let Some(source) = self.catalog.read().source(&query.from.source.name)
            && (source.kind == SourceKind::Table || !query.group_by.is_empty())
        {
            return Err(EngineError::invalid(format!(
                "Incompatible data sink and query result. Data sink ({target}) type is KSTREAM but select query result is KTABLE."
            )));
        }
        let plan = {
            let catalog = self.catalog.read();
            plan_persistent(&self.session_state, &catalog, query, SinkTarget::Existing(&sink))?
        };
        if plan.source.name == target {
            return Err(EngineError::invalid(format!(
                "Cannot insert into {target} from itself: a query cannot read and write the same source."
            )));
        }
        let query_id = format!("INSERTQUERY_{}", ctx.seq);
        self.log_command(parsed, session, ctx)?;
        self.catalog.write().add_query(QueryDef {
            id: query_id.clone(),
            kind: QueryKind::InsertInto,
            sql: parsed.text.clone(),
            sink: target.to_string(),
            sources: vec![plan.source.name.clone()],
        });
        self.register_plan(&query_id, QueryPlan::Stateless(plan), session, ctx)?;
        Ok(StatementResult::Status(CommandStatus {
            message: format!("Created query with ID {query_id}"),
            command_seq: Some(ctx.seq),
            query_id: Some(query_id),
            warnings: vec![],
        }))
    }

    pub(super) fn terminate(
        &self,
        target: &TerminateTarget,
        parsed: &ParsedStatement,
        session: &Session,
        ctx: ExecContext,
    ) -> Result<StatementResult, EngineError> {
        let ids: Vec<String> = match target {
            TerminateTarget::All => self.catalog.read().queries().map(|q| q.id.clone()).collect(),
            TerminateTarget::Query(id) => {
                if self.catalog.read().query(id).is_none() {
                    return Err(EngineError::not_found(format!("Unknown queryId: {id}")));
                }
                vec![id.clone()]
            }
        };
        self.log_command(parsed, session, ctx)?;
        for id in &ids {
            self.stop_and_forget_query(id)?;
        }
        Ok(StatementResult::Status(CommandStatus {
            message: "Query terminated.".to_string(),
            command_seq: Some(ctx.seq),
            query_id: None,
            warnings: vec![],
        }))
    }

    /// Stops a query, removes it from the catalog and deletes its checkpoint.
    pub(super) fn stop_and_forget_query(&self, id: &str) -> Result<(), EngineError> {
        self.runtime.stop(id);
        self.catalog.write().remove_query(id)?;
        self.plans.lock().remove(id);
        self.checkpoints.remove(id)?;
        Ok(())
    }

    /// Keeps a compiled plan and, unless replaying, starts its task. The plan's settings from the session
    /// (`auto.offset.reset`, `cache.max.bytes.buffering`) come from the logged statement's properties on replay.
    fn register_plan(&self, id: &str, plan: QueryPlan, session: &Session, ctx: ExecContext) -> Result<(), EngineError> {
        let start = match session.get("auto.offset.reset").map(str::to_ascii_lowercase).as_deref() {
            Some("latest") => StartPosition::Latest,
            _ => StartPosition::Earliest,
        };
        self.plans.lock().insert(id.to_string(), Arc::new(plan));
        self.start_positions.lock().insert(id.to_string(), start);
        if let Some(bytes) = cache_property(session)? {
            self.cache_bytes.lock().insert(id.to_string(), bytes);
        }
        if !ctx.replaying {
            self.start_query(id)?;
        }
        Ok(())
    }

    /// Builds the task of a planned query and hands it to the runtime.
    pub(super) fn start_query(&self, id: &str) -> Result<(), EngineError> {
        let plan = self
            .plans
            .lock()
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::not_found(format!("no plan for query {id}")))?;
        let start = self
            .start_positions
            .lock()
            .get(id)
            .copied()
            .unwrap_or(StartPosition::Earliest);
        let query_id: Arc<str> = Arc::from(id);
        let pipeline = self.build_pipeline(&query_id, &plan)?;
        let task = QueryTask::open(
            query_id,
            pipeline,
            self.store.clone(),
            self.checkpoints.clone(),
            std::slice::from_ref(&plan.source().topic),
            Arc::from(plan.sink().topic.as_str()),
            Arc::from(self.processing_log.topic.as_str()),
            TaskConfig {
                view: match plan.sink().kind {
                    SourceKind::Table => Some(self.view(&plan.sink().name)?),
                    SourceKind::Stream => None,
                },
                batch_size: self.config.processing.batch_size,
                commit_interval: Duration::from_millis(self.config.processing.commit_interval_ms),
                start,
                service_id: self.config.server.service_id.clone(),
            },
            Arc::new(QueryStats::default()),
            self.clock,
        )?;
        self.runtime.start(task);
        Ok(())
    }

    /// How many bytes of changed rows an aggregation holds back: the `cache.max.bytes.buffering` property of the
    /// statement that created it, else the server's setting. The synchronous runtime (case runner, tests) emits
    /// every update by default, as the case format expects.
    fn emission_cache_bytes(&self, id: &str) -> usize {
        if let Some(&bytes) = self.cache_bytes.lock().get(id) {
            return bytes;
        }
        if self.runtime.is_synchronous() {
            0
        } else {
            self.config.processing.cache_max_bytes_buffering
        }
    }

    fn build_pipeline(&self, id: &Arc<str>, plan: &QueryPlan) -> Result<Box<dyn Pipeline>, EngineError> {
        let source_def = plan.source();
        let sink_def = plan.sink();
        let source_timestamp = match plan {
            QueryPlan::Stateless(p) => p.source_timestamp.clone(),
            QueryPlan::Aggregate(p) => p.source_timestamp.clone(),
            QueryPlan::Materialize(_) => None,
        };
        let source = SourceDecoder::new(
            id.clone(),
            source_def.kind,
            &source_def.schema,
            &format_options(&source_def.key_format)?,
            &format_options(&source_def.value_format)?,
            source_timestamp,
        )?;
        let partitions = self
            .store
            .describe_topic(&sink_def.topic)?
            .map(|t| t.partitions)
            .unwrap_or(sink_def.partitions);
        match plan {
            QueryPlan::Materialize(_) => Ok(Box::new(crate::exec::MaterializePipeline::new(source))),
            QueryPlan::Stateless(plan) => {
                let sink = SinkEncoder::new(
                    id.clone(),
                    Arc::from(plan.source.topic.as_str()),
                    &plan.sink.schema,
                    &format_options(&plan.sink.key_format)?,
                    &format_options(&plan.sink.value_format)?,
                    partitions,
                )?;
                let spec = StatelessSpec {
                    query_id: id.clone(),
                    filter: plan.filter.clone(),
                    columns: plan.columns.clone(),
                    key_columns: plan.key_columns,
                    result_schema: plan.result_schema.clone(),
                    sink_timestamp: plan.sink_timestamp,
                    table: plan.source.kind == SourceKind::Table,
                };
                let table_sink = plan.sink.kind == SourceKind::Table;
                let suffix = window_suffix(&plan.source);
                Ok(Box::new(
                    StatelessPipeline::new(spec, source.with_key_suffix(suffix), sink, table_sink)
                        .with_key_suffix(suffix),
                ))
            }
            QueryPlan::Aggregate(plan) => {
                let fields = |kind: crate::types::ColumnKind| -> Vec<(String, crate::types::SqlType)> {
                    plan.sink
                        .schema
                        .columns()
                        .iter()
                        .filter(|c| c.kind == kind)
                        .map(|c| (c.name.clone(), c.ty.clone()))
                        .collect()
                };
                let key_options = format_options(&plan.sink.key_format)?;
                let value_options = format_options(&plan.sink.value_format)?;
                let key_fields = fields(crate::types::ColumnKind::Key);
                let value_fields = fields(crate::types::ColumnKind::Value);
                let invalid = |e: crate::format::FormatError| EngineError::invalid(e.to_string());
                let codecs = AggregateCodecs {
                    source,
                    key_encoder: Encoder::new(&key_options, &key_fields, true).map_err(invalid)?,
                    key_decoder: Decoder::new(&key_options, &key_fields, true).map_err(invalid)?,
                    value_encoder: Encoder::new(&value_options, &value_fields, false).map_err(invalid)?,
                };
                let spec = AggregateSpecs {
                    query_id: id.clone(),
                    filter: plan.filter.clone(),
                    group_by: plan.group_by.clone(),
                    aggregates: plan
                        .aggregates
                        .iter()
                        .map(|a| AggregateInput {
                            spec: a.spec.clone(),
                            args: a.args.clone(),
                            text: a.text.clone(),
                        })
                        .collect(),
                    window: plan.window,
                    emit_final: plan.emit_final,
                    having: plan.having.clone(),
                    values: plan.values.clone(),
                    aggregate_schema: plan.aggregate_schema.clone(),
                    partitions,
                    cache_bytes: self.emission_cache_bytes(id),
                };
                Ok(Box::new(AggregatePipeline::new(spec, codecs)))
            }
        }
    }

    /// Plans `CREATE STREAM|TABLE ... AS SELECT`: an aggregation for `GROUP BY`, a stateless query otherwise.
    fn plan_create_as_select(
        &self,
        stmt: &CreateAsSelect,
        parsed: &ParsedStatement,
        query_id: &str,
    ) -> Result<QueryPlan, EngineError> {
        let catalog = self.catalog.read();
        let grouped = crate::plan::uses_aggregates(&stmt.query);
        match (stmt.kind, grouped) {
            (SourceKind::Table, true) => Ok(QueryPlan::Aggregate(plan_aggregate(
                &self.session_state,
                &catalog,
                &stmt.query,
                AggregateSink {
                    name: &stmt.name,
                    properties: &stmt.properties,
                    sql: &parsed.text,
                    query_id,
                },
                self.config.processing.default_grace_period_ms,
            )?)),
            (SourceKind::Stream, true) => Err(EngineError::invalid(
                "Invalid result type. Your SELECT query produces a TABLE. Please use CREATE TABLE AS SELECT statement instead.",
            )),
            (kind, false) => {
                let from = &stmt.query.from.source.name;
                let source_kind = catalog.source(from).map(|s| s.kind);
                match (kind, source_kind) {
                    (SourceKind::Table, Some(SourceKind::Stream)) => {
                        return Err(EngineError::invalid(
                            "Invalid result type. Your SELECT query produces a STREAM. Please use CREATE STREAM AS SELECT statement instead.",
                        ));
                    }
                    (SourceKind::Stream, Some(SourceKind::Table)) => {
                        return Err(EngineError::invalid(
                            "Invalid result type. Your SELECT query produces a TABLE. Please use CREATE TABLE AS SELECT statement instead.",
                        ));
                    }
                    _ => {}
                }
                Ok(QueryPlan::Stateless(plan_persistent(
                    &self.session_state,
                    &catalog,
                    &stmt.query,
                    SinkTarget::Create {
                        name: &stmt.name,
                        kind: stmt.kind,
                        properties: &stmt.properties,
                        sql: &parsed.text,
                        query_id,
                    },
                )?))
            }
        }
    }

    /// Registers the query that keeps a `CREATE SOURCE TABLE`'s view, named `CST_<TABLE>_<n>` as in ksqlDB.
    pub(super) fn register_materialization(
        &self,
        table: &crate::catalog::SourceDef,
        session: &Session,
        ctx: ExecContext,
    ) -> Result<String, EngineError> {
        let id = format!("CST_{}_{}", table.name, ctx.seq);
        self.catalog.write().add_query(QueryDef {
            id: id.clone(),
            kind: QueryKind::Materialize,
            sql: table.sql.clone(),
            sink: table.name.clone(),
            sources: vec![],
        });
        // A source table is read from the beginning: its view must hold every key.
        let mut session = session.clone();
        session.properties.insert("auto.offset.reset".into(), "earliest".into());
        self.register_plan(&id, QueryPlan::Materialize(table.clone()), &session, ctx)?;
        Ok(id)
    }

    /// Forgets a dropped table's view.
    pub(super) fn drop_view(&self, table: &str) -> Result<(), EngineError> {
        self.views.lock().remove(table);
        self.db.drop_tree(crate::state::view_tree_name(table))?;
        Ok(())
    }

    /// The materialized view of a table (opened on first use).
    pub(super) fn view(&self, table: &str) -> Result<Arc<MaterializedView>, EngineError> {
        let mut views = self.views.lock();
        if let Some(v) = views.get(table) {
            return Ok(v.clone());
        }
        let view = Arc::new(MaterializedView::open(&self.db, table)?);
        views.insert(table.to_string(), view.clone());
        Ok(view)
    }

    /// The compiled plan of a running query (for EXPLAIN).
    pub(super) fn plan_of(&self, id: &str) -> Option<Arc<QueryPlan>> {
        self.plans.lock().get(id).cloned()
    }
}

/// Bytes of window bounds at the end of a windowed table's record keys (Kafka Streams' layout).
fn window_suffix(source: &crate::catalog::SourceDef) -> usize {
    match &source.window {
        Some(w) if w.kind == "SESSION" => 16,
        Some(_) => 8,
        None => 0,
    }
}

/// A compiled persistent query.
pub(crate) enum QueryPlan {
    Stateless(PersistentPlan),
    Aggregate(AggregatePlan),
    /// Materializes a declared table (source and sink are the table itself).
    Materialize(crate::catalog::SourceDef),
}

impl QueryPlan {
    pub(crate) fn source(&self) -> &crate::catalog::SourceDef {
        match self {
            QueryPlan::Stateless(p) => &p.source,
            QueryPlan::Aggregate(p) => &p.source,
            QueryPlan::Materialize(t) => t,
        }
    }

    pub(crate) fn sink(&self) -> &crate::catalog::SourceDef {
        match self {
            QueryPlan::Stateless(p) => &p.sink,
            QueryPlan::Aggregate(p) => &p.sink,
            QueryPlan::Materialize(t) => t,
        }
    }

    fn sink_mut(&mut self) -> &mut crate::catalog::SourceDef {
        match self {
            QueryPlan::Stateless(p) => &mut p.sink,
            QueryPlan::Aggregate(p) => &mut p.sink,
            QueryPlan::Materialize(t) => t,
        }
    }
}

/// `CREATE OR REPLACE ... AS SELECT` may only append value columns to the sink.
fn check_sink_upgrade(old: &crate::catalog::SourceDef, new: &crate::catalog::SourceDef) -> Result<(), EngineError> {
    let old_keys: Vec<_> = old.schema.key_columns().collect();
    let new_keys: Vec<_> = new.schema.key_columns().collect();
    if old_keys != new_keys {
        return Err(EngineError::invalid(format!(
            "Cannot upgrade data source: DataSource '{}' has schema = {} which is not upgradeable to {}. (Key columns must be identical.)",
            old.name,
            old.schema.to_ksql_string(),
            new.schema.to_ksql_string()
        )));
    }
    let old_values: Vec<_> = old.schema.value_columns().collect();
    let new_values: Vec<_> = new.schema.value_columns().collect();
    let changed: Vec<String> = old_values
        .iter()
        .enumerate()
        .filter(|(i, c)| new_values.get(*i) != Some(*c))
        .map(|(_, c)| format!("`{}` {}", c.name, c.ty))
        .collect();
    if !changed.is_empty() {
        return Err(EngineError::invalid(format!(
            "Cannot upgrade data source: DataSource '{}' has schema = {} which is not upgradeable to {}. (The following columns are changed, missing or reordered: [{}])",
            old.name,
            old.schema.to_ksql_string(),
            new.schema.to_ksql_string(),
            changed.join(", ")
        )));
    }
    Ok(())
}
