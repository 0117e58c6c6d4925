//! `SHOW`/`LIST`, `DESCRIBE` and `EXPLAIN`: read-only views of the catalog, topics and running queries.

use std::sync::atomic::Ordering;

use crate::catalog::{QueryDef, SourceDef};
use crate::exec::QueryStatus;
use crate::sql::ast::{ExplainTarget, ShowTarget, SourceKind, Statement};
use crate::types::ColumnKind;

use super::{
    Engine, EngineError, FieldInfo, PropertyInfo, QueryDescription, QueryInfo, Session, SourceDescription, SourceList,
    SourceSummary, StatementResult, TopicDescription,
};

impl Engine {
    pub(super) fn show(
        &self,
        what: ShowTarget,
        extended: bool,
        session: &Session,
    ) -> Result<StatementResult, EngineError> {
        match what {
            ShowTarget::Streams | ShowTarget::Tables => {
                let tables = what == ShowTarget::Tables;
                let kind = if tables { SourceKind::Table } else { SourceKind::Stream };
                let catalog = self.catalog.read();
                let sources: Vec<&SourceDef> = catalog.sources().filter(|s| s.kind == kind).collect();
                let items = sources.iter().map(|s| summary(s)).collect();
                let descriptions = if extended {
                    sources
                        .iter()
                        .map(|s| self.describe_source(s, true, &catalog))
                        .collect()
                } else {
                    vec![]
                };
                Ok(StatementResult::Sources(SourceList {
                    tables,
                    extended,
                    items,
                    descriptions,
                }))
            }
            ShowTarget::Queries => {
                let catalog = self.catalog.read();
                let mut queries: Vec<QueryInfo> = catalog.queries().map(|q| self.query_info(q, &catalog)).collect();
                queries.extend(self.transient_infos());
                Ok(StatementResult::Queries(queries))
            }
            ShowTarget::Topics => {
                let catalog = self.catalog.read();
                let topics = self
                    .store
                    .list_topics()?
                    .into_iter()
                    .map(|t| {
                        let consumers = if extended {
                            catalog
                                .queries()
                                .filter(|q| {
                                    q.sources
                                        .iter()
                                        .any(|s| catalog.source(s).is_some_and(|d| d.topic == t.name))
                                })
                                .map(|q| q.id.clone())
                                .collect()
                        } else {
                            vec![]
                        };
                        TopicDescription {
                            name: t.name,
                            partitions: t.partitions,
                            replicas: t.replicas,
                            consumers,
                        }
                    })
                    .collect();
                Ok(StatementResult::Topics(topics))
            }
            ShowTarget::Properties => {
                let mut props = Vec::new();
                let c = &self.config;
                let server = [
                    ("ksql.service.id", c.server.service_id.clone()),
                    ("weir.server.rest_listen", c.server.rest_listen.clone()),
                    ("weir.server.pg_listen", c.server.pg_listen.clone()),
                    ("weir.storage.data_dir", c.storage.data_dir.display().to_string()),
                    ("weir.topics", self.store.kind().to_string()),
                    (
                        "ksql.streams.commit.interval.ms",
                        c.processing.commit_interval_ms.to_string(),
                    ),
                    (
                        "weir.processing.default_grace_period_ms",
                        c.processing.default_grace_period_ms.to_string(),
                    ),
                    ("weir.processing.batch_size", c.processing.batch_size.to_string()),
                    ("ksql.streams.auto.offset.reset", "earliest".to_string()),
                ];
                for (name, value) in server {
                    props.push(PropertyInfo {
                        name: name.to_string(),
                        scope: "SERVER",
                        value,
                    });
                }
                for (name, value) in &session.properties {
                    props.push(PropertyInfo {
                        name: name.clone(),
                        scope: "SESSION",
                        value: value.clone(),
                    });
                }
                Ok(StatementResult::Properties(props))
            }
        }
    }

    pub(super) fn describe(&self, name: &str, extended: bool) -> Result<StatementResult, EngineError> {
        let catalog = self.catalog.read();
        let source = catalog.source(name).ok_or_else(|| {
            EngineError::not_found(format!(
                "Could not find STREAM/TABLE '{name}' in the Metastore. Use SHOW STREAMS or SHOW TABLES to list them."
            ))
        })?;
        Ok(StatementResult::SourceDescription(Box::new(
            self.describe_source(source, extended, &catalog),
        )))
    }

    pub(super) fn explain(&self, target: &ExplainTarget) -> Result<StatementResult, EngineError> {
        let catalog = self.catalog.read();
        let id = match target {
            ExplainTarget::QueryId(id) => id.clone(),
            ExplainTarget::Statement(stmt) => {
                return Err(EngineError::from(crate::plan::PlanError::not_supported(
                    format!("EXPLAIN of a statement ({})", statement_kind(stmt)),
                    None,
                )));
            }
        };
        let query = catalog.query(&id).ok_or_else(|| {
            EngineError::not_found(format!(
                "Query with id:{id} does not exist, use SHOW QUERIES to view the full set of running queries."
            ))
        })?;
        let sink = catalog.source(&query.sink);
        let fields = sink.map(fields_of).unwrap_or_default();
        let execution_plan = match self.plan_of(&id).as_deref() {
            Some(super::queries::QueryPlan::Stateless(plan)) => {
                let mut lines = vec![format!(
                    " > [ SINK ] | Schema: {} | Logger: {id}.{}",
                    plan.sink.schema.to_ksql_string(),
                    plan.sink.name
                )];
                let columns: Vec<String> = plan
                    .columns
                    .iter()
                    .map(|c| format!("{} AS {}", c.text, c.name))
                    .collect();
                lines.push(format!(
                    "\t\t > [ PROJECT ] | {} | Logger: {id}.Project",
                    columns.join(", ")
                ));
                if let Some((_, text)) = &plan.filter {
                    lines.push(format!("\t\t\t\t > [ FILTER ] | {text} | Logger: {id}.Filter"));
                }
                lines.push(format!(
                    "\t\t\t\t\t\t > [ SOURCE ] | Schema: {} | Topic: {} | Logger: {id}.Source",
                    plan.source.schema.to_ksql_string(),
                    plan.source.topic
                ));
                lines.join("\n")
            }
            Some(super::queries::QueryPlan::Aggregate(plan)) => {
                let mut lines = vec![format!(
                    " > [ SINK ] | Schema: {} | Logger: {id}.{}",
                    plan.sink.schema.to_ksql_string(),
                    plan.sink.name
                )];
                let values: Vec<String> = plan
                    .values
                    .iter()
                    .map(|c| format!("{} AS {}", c.text, c.name))
                    .collect();
                lines.push(format!(
                    "\t\t > [ PROJECT ] | {} | Logger: {id}.Aggregate.Project",
                    values.join(", ")
                ));
                if let Some((_, text)) = &plan.having {
                    lines.push(format!(
                        "\t\t\t\t > [ HAVING ] | {text} | Logger: {id}.Aggregate.Having"
                    ));
                }
                let aggs: Vec<&str> = plan.aggregates.iter().map(|a| a.text.as_str()).collect();
                let groups: Vec<&str> = plan.group_by.iter().map(|g| g.2.as_str()).collect();
                let window = plan
                    .window
                    .map(|w| {
                        format!(
                            " | Window: {} (grace {} ms, retention {} ms)",
                            w.type_name(),
                            w.grace,
                            w.retention
                        )
                    })
                    .unwrap_or_default();
                let emit = if plan.emit_final { "FINAL" } else { "CHANGES" };
                lines.push(format!(
                    "\t\t\t\t > [ AGGREGATE ] | {} GROUP BY {}{window} | EMIT {emit} | Logger: {id}.Aggregate",
                    aggs.join(", "),
                    groups.join(", ")
                ));
                if let Some((_, text)) = &plan.filter {
                    lines.push(format!("\t\t\t\t\t\t > [ FILTER ] | {text} | Logger: {id}.Filter"));
                }
                lines.push(format!(
                    "\t\t\t\t\t\t\t\t > [ SOURCE ] | Schema: {} | Topic: {} | Logger: {id}.Source",
                    plan.source.schema.to_ksql_string(),
                    plan.source.topic
                ));
                lines.join("\n")
            }
            Some(super::queries::QueryPlan::Materialize(table)) => format!(
                " > [ MATERIALIZE ] | Schema: {} | Topic: {} | Logger: {id}.Materialize",
                table.schema.to_ksql_string(),
                table.topic
            ),
            None => String::new(),
        };
        let info = self.query_info(query, &catalog);
        Ok(StatementResult::QueryDescription(Box::new(QueryDescription {
            id: id.clone(),
            sql: query.sql.clone(),
            sources: query.sources.clone(),
            sinks: vec![query.sink.clone()],
            fields,
            execution_plan,
            state: info.state,
            statistics: self.query_statistics(&id),
        })))
    }

    fn query_info(&self, q: &QueryDef, catalog: &crate::catalog::Catalog) -> QueryInfo {
        let (state, error) = match self.runtime.status(&q.id) {
            Some(QueryStatus::Running) => ("RUNNING".to_string(), None),
            Some(QueryStatus::Error(e)) => ("ERROR".to_string(), Some(e)),
            None => ("NOT_RUNNING".to_string(), None),
        };
        QueryInfo {
            id: q.id.clone(),
            sql: q.sql.clone(),
            sinks: vec![q.sink.clone()],
            sink_topics: catalog
                .source(&q.sink)
                .map(|s| vec![s.topic.clone()])
                .unwrap_or_default(),
            state,
            query_type: "PERSISTENT",
            error,
        }
    }

    fn query_statistics(&self, id: &str) -> String {
        match self.runtime.stats(id) {
            Some(s) => {
                let positions = s.positions.lock().clone();
                let lag: i64 = positions
                    .iter()
                    .map(|(tp, pos)| {
                        let end = self
                            .store
                            .offsets(&tp.topic, tp.partition)
                            .map(|o| o.end)
                            .unwrap_or(*pos);
                        (end - pos).max(0)
                    })
                    .sum();
                format!(
                    "records-consumed: {}, records-produced: {}, dead-letters: {}, null-values-skipped: {}, duplicates-suppressed: {}, total-lag: {lag}",
                    s.records_in.load(Ordering::Relaxed),
                    s.records_out.load(Ordering::Relaxed),
                    s.dead_letters.load(Ordering::Relaxed),
                    s.null_values_skipped.load(Ordering::Relaxed),
                    s.duplicates_suppressed.load(Ordering::Relaxed),
                )
            }
            None => String::new(),
        }
    }

    pub(super) fn describe_source(
        &self,
        s: &SourceDef,
        extended: bool,
        catalog: &crate::catalog::Catalog,
    ) -> SourceDescription {
        let read_queries = catalog
            .readers_of(&s.name)
            .map(|q| self.query_info(q, catalog))
            .collect();
        let write_queries = catalog
            .writers_of(&s.name)
            .map(|q| self.query_info(q, catalog))
            .collect();
        let topic = self.store.describe_topic(&s.topic).ok().flatten();
        let (statistics, error_stats) = if extended {
            let mut stats = Vec::new();
            let mut errors = Vec::new();
            for q in catalog.writers_of(&s.name) {
                if let Some(st) = self.runtime.stats(&q.id) {
                    stats.push(format!(
                        "{}: records-produced: {}",
                        q.id,
                        st.records_out.load(Ordering::Relaxed)
                    ));
                }
            }
            for q in catalog.readers_of(&s.name) {
                if let Some(st) = self.runtime.stats(&q.id) {
                    stats.push(format!(
                        "{}: records-consumed: {}",
                        q.id,
                        st.records_in.load(Ordering::Relaxed)
                    ));
                    errors.push(format!(
                        "{}: dead-letters: {}",
                        q.id,
                        st.dead_letters.load(Ordering::Relaxed)
                    ));
                }
            }
            (stats.join(", "), errors.join(", "))
        } else {
            (String::new(), String::new())
        };
        SourceDescription {
            name: s.name.clone(),
            kind: s.kind_name(),
            topic: s.topic.clone(),
            partitions: topic.as_ref().map(|t| t.partitions).unwrap_or(s.partitions),
            replicas: topic.as_ref().map(|t| t.replicas).unwrap_or(1),
            key_format: s.key_format.format.clone(),
            value_format: s.value_format.format.clone(),
            timestamp: s.timestamp.as_ref().map(|t| t.column.clone()),
            fields: fields_of(s),
            read_queries,
            write_queries,
            statement: s.sql.clone(),
            extended,
            statistics,
            error_stats,
            windowed: s.window.is_some(),
        }
    }
}

fn summary(s: &SourceDef) -> SourceSummary {
    SourceSummary {
        name: s.name.clone(),
        kind: s.kind_name(),
        topic: s.topic.clone(),
        key_format: s.key_format.format.clone(),
        value_format: s.value_format.format.clone(),
        windowed: s.window.is_some(),
    }
}

fn fields_of(s: &SourceDef) -> Vec<FieldInfo> {
    s.schema
        .columns()
        .iter()
        .map(|c| FieldInfo {
            name: c.name.clone(),
            ty: c.ty.clone(),
            key: match (c.kind, s.kind) {
                (ColumnKind::Key, SourceKind::Stream) => Some("KEY"),
                (ColumnKind::Key, SourceKind::Table) => Some("PRIMARY_KEY"),
                (ColumnKind::Value, _) => None,
            },
        })
        .collect()
}

fn statement_kind(s: &Statement) -> &'static str {
    match s {
        Statement::CreateSource(_) => "CREATE STREAM/TABLE",
        Statement::CreateAsSelect(_) => "CREATE ... AS SELECT",
        Statement::InsertSelect { .. } => "INSERT INTO ... SELECT",
        Statement::Select(_) => "SELECT",
        _ => "statement",
    }
}
