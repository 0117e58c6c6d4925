//! Persistent queries: `CREATE ... AS SELECT`, `INSERT INTO ... SELECT`, `TERMINATE`, and starting their tasks.

use std::sync::Arc;
use std::time::Duration;

use crate::catalog::{QueryDef, QueryKind};
use crate::exec::{
    Pipeline, QueryStats, QueryTask, SinkEncoder, SourceDecoder, StartPosition, StatelessPipeline, StatelessSpec,
    TaskConfig,
};
use crate::plan::properties::format_options;
use crate::plan::{PersistentPlan, SinkTarget, plan_persistent};
use crate::sql::ast::{CreateAsSelect, ParsedStatement, Query, SourceKind, TerminateTarget};

use super::{CommandStatus, Engine, EngineError, ExecContext, Session, StatementResult};

impl Engine {
    pub(super) fn create_as_select(
        &self,
        stmt: &CreateAsSelect,
        parsed: &ParsedStatement,
        session: &Session,
        ctx: ExecContext,
    ) -> Result<StatementResult, EngineError> {
        if stmt.kind == SourceKind::Table {
            return Err(
                crate::plan::PlanError::not_supported("CREATE TABLE ... AS SELECT", Some(stmt.query.position)).into(),
            );
        }
        let existing = self.catalog.read().source(&stmt.name).cloned();
        let mut query_id = format!("CSAS_{}_{}", stmt.name, ctx.seq);
        if let Some(existing) = &existing {
            if stmt.if_not_exists {
                return Ok(StatementResult::Status(CommandStatus {
                    message: format!(
                        "Cannot add stream {}: A stream with the same name already exists.",
                        stmt.name
                    ),
                    command_seq: None,
                    query_id: None,
                    warnings: vec![format!("Stream {} already exists; nothing was changed.", stmt.name)],
                }));
            }
            if !stmt.or_replace {
                return Err(EngineError::invalid(format!(
                    "Cannot add stream '{}': A {} with the same name already exists",
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
        let plan = {
            let catalog = self.catalog.read();
            plan_persistent(
                &self.session_state,
                &catalog,
                &stmt.query,
                SinkTarget::Create {
                    name: &stmt.name,
                    kind: stmt.kind,
                    properties: &stmt.properties,
                    sql: &parsed.text,
                    query_id: &query_id,
                },
            )?
        };
        if plan.source.name == stmt.name {
            return Err(EngineError::invalid(format!(
                "Cannot create {} from itself: a query cannot read and write the same source.",
                stmt.name
            )));
        }
        if let Some(existing) = &existing {
            check_sink_upgrade(existing, &plan.sink)?;
        }
        let explicit_partitions = stmt.properties.get("PARTITIONS").is_some();
        let mut plan = plan;
        plan.sink.partitions = self.ensure_topic(&plan.sink.topic, plan.sink.partitions, explicit_partitions)?;
        self.log_command(parsed, session, ctx)?;
        let def = QueryDef {
            id: query_id.clone(),
            kind: QueryKind::CreateAsSelect,
            sql: parsed.text.clone(),
            sink: stmt.name.clone(),
            sources: vec![plan.source.name.clone()],
        };
        if existing.is_some() && !ctx.replaying {
            self.runtime.stop(&query_id);
        }
        {
            let mut catalog = self.catalog.write();
            catalog.add_source(plan.sink.clone(), stmt.or_replace)?;
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
        self.register_plan(&query_id, plan, session, ctx)?;
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

    /// Keeps a compiled plan and, unless replaying, starts its task.
    fn register_plan(
        &self,
        id: &str,
        plan: PersistentPlan,
        session: &Session,
        ctx: ExecContext,
    ) -> Result<(), EngineError> {
        let start = match session.get("auto.offset.reset").map(str::to_ascii_lowercase).as_deref() {
            Some("latest") => StartPosition::Latest,
            _ => StartPosition::Earliest,
        };
        self.plans.lock().insert(id.to_string(), Arc::new(plan));
        self.start_positions.lock().insert(id.to_string(), start);
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
            std::slice::from_ref(&plan.source.topic),
            Arc::from(plan.sink.topic.as_str()),
            Arc::from(self.processing_log.topic.as_str()),
            TaskConfig {
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

    fn build_pipeline(&self, id: &Arc<str>, plan: &PersistentPlan) -> Result<Box<dyn Pipeline>, EngineError> {
        let source = SourceDecoder::new(
            id.clone(),
            plan.source.kind,
            &plan.source.schema,
            &format_options(&plan.source.key_format)?,
            &format_options(&plan.source.value_format)?,
            plan.source_timestamp.clone(),
        )?;
        let partitions = self
            .store
            .describe_topic(&plan.sink.topic)?
            .map(|t| t.partitions)
            .unwrap_or(plan.sink.partitions);
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
        };
        Ok(Box::new(StatelessPipeline::new(spec, source, sink)))
    }

    /// The compiled plan of a running query (for EXPLAIN).
    pub(super) fn plan_of(&self, id: &str) -> Option<Arc<PersistentPlan>> {
        self.plans.lock().get(id).cloned()
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
