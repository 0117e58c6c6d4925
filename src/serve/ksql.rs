//! Full SQL pull queries for ksqlDB's REST API (`/query`, `/query-stream`): the ones the dialect cannot express
//! or Weir's own pull planner rejects (`ORDER BY`, `JOIN`, `GROUP BY`, subqueries; see
//! [`crate::engine::QueryRoute`]), planned and run by DataFusion like any Postgres pull query, then shaped the
//! way ksqlDB answers:
//!
//! - columns are named as ksqlDB names them ([`Labels::Ksql`]): unaliased expressions are `KSQL_COL_<n>`, and a
//!   name several joined relations share is prefixed with its relation (`A_ID`, `B_ID`);
//! - every column has a ksqlDB type ([`SqlType::from_arrow`]), its values cast to that type's Arrow layout;
//! - a column that is a table's key (or a windowed table's `WINDOWSTART`/`WINDOWEND`), taken as is, is marked
//!   `KEY` in the header.

use std::collections::HashMap;

use datafusion::arrow::compute::cast;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::TableReference;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast::Statement;

use super::{Labels, PreparedPull, PullOptions, ServeError, Serving};
use crate::catalog::SourceDef;
use crate::engine::TransientHandle;
use crate::sql::ast::SourceKind;
use crate::types::{Column, LogicalSchema, SqlType, WINDOWEND, WINDOWSTART};

/// The rows of a pull query, as ksqlDB's REST API describes them.
#[derive(Debug)]
pub struct KsqlPull {
    /// The first source the query reads, to name the query.
    pub source: String,
    /// The result columns, in the query's order.
    pub schema: LogicalSchema,
    /// Rows laid out as `schema.arrow_schema()`.
    pub batches: Vec<RecordBatch>,
}

impl Serving {
    /// Plans and runs `statement` (one SQL `SELECT`) and shapes its result for ksqlDB's REST API.
    pub async fn ksql_pull(&self, statement: Statement) -> Result<KsqlPull, ServeError> {
        let options = PullOptions {
            labels: Labels::Ksql,
            ..PullOptions::default()
        };
        let prepared = self.prepare_statement(statement, &options).await?;
        let result = self.execute(&prepared, vec![]).await?;
        let shape = Shape::of(&prepared);
        shape.check()?;
        let schema = LogicalSchema::in_order(shape.columns.clone());
        let arrow_schema = schema.arrow_schema();
        let batches = result
            .batches
            .iter()
            .map(|batch| {
                let columns = batch
                    .columns()
                    .iter()
                    .zip(arrow_schema.fields())
                    .map(|(column, field)| {
                        if column.data_type() == field.data_type() {
                            Ok(column.clone())
                        } else {
                            cast(column, field.data_type()).map_err(|e| {
                                ServeError::internal(format!("cannot convert column {}: {e}", field.name()))
                            })
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                RecordBatch::try_new(arrow_schema.clone(), columns).map_err(|e| ServeError::internal(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KsqlPull {
            source: shape.source.unwrap_or_else(|| "QUERY".to_string()),
            schema,
            batches,
        })
    }

    /// [`Serving::ksql_pull`], delivered as a finished query of the engine (what `/query` streams to its client).
    pub async fn ksql_pull_query(&self, statement: Statement) -> Result<TransientHandle, ServeError> {
        let pull = self.ksql_pull(statement).await?;
        Ok(self.engine().finished_query(&pull.source, pull.schema, pull.batches))
    }
}

/// The ksqlDB columns of a planned query.
struct Shape {
    columns: Vec<Column>,
    source: Option<String>,
    /// A column whose type ksqlDB has no name for.
    unsupported: Option<(String, String)>,
}

impl Shape {
    fn of(prepared: &PreparedPull) -> Shape {
        let (relations, first) = relations_read(&prepared.plan);
        let defs: HashMap<&str, &SourceDef> = prepared.snapshot.defs.iter().map(|d| (d.name.as_str(), d)).collect();
        let planned = prepared.plan.schema();
        let names: Vec<String> = prepared.schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut unsupported = None;
        let mut columns = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let (qualifier, field) = planned.qualified_field(i);
            let source = qualifier
                .and_then(|q| relations.get(q))
                .and_then(|s| defs.get(s.as_str()));
            let is_key = source.is_some_and(|def| is_table_key(def, field.name()));
            // Several relations' columns of one name (a joined `SELECT *`): ksqlDB's `<RELATION>_<NAME>`.
            let name = match qualifier {
                Some(q) if names.iter().filter(|n| *n == name).count() > 1 => format!("{}_{name}", q.table()),
                _ => name.clone(),
            };
            let ty = match SqlType::from_arrow(field.data_type()) {
                Ok(t) => t,
                Err(_) => {
                    unsupported.get_or_insert((name.clone(), field.data_type().to_string()));
                    SqlType::String
                }
            };
            columns.push(if is_key {
                Column::key(name, ty)
            } else {
                Column::value(name, ty)
            });
        }
        let source = first.filter(|s| defs.contains_key(s.as_str()));
        Shape {
            columns,
            source,
            unsupported,
        }
    }

    fn check(&self) -> Result<(), ServeError> {
        match &self.unsupported {
            Some((name, ty)) => Err(ServeError::not_supported(format!(
                "column {name} has type {ty}, which has no ksqlDB type; CAST it to one"
            ))),
            None => Ok(()),
        }
    }
}

/// Whether `column` is part of `def`'s key, for a table.
fn is_table_key(def: &SourceDef, column: &str) -> bool {
    def.kind == SourceKind::Table
        && (def.schema.key_columns().any(|c| c.name == column)
            || (def.window.is_some() && (column == WINDOWSTART || column == WINDOWEND)))
}

/// The sources `plan` reads directly, by the qualifier their columns carry: the source's own name, or the alias
/// it is read under (`FROM pageviews p`). Only the outermost query's relations qualify its output.
/// Also returns the first source read (in plan order), to name the query.
fn relations_read(plan: &LogicalPlan) -> (HashMap<TableReference, String>, Option<String>) {
    let mut found = HashMap::new();
    let mut first = None;
    let _ = plan.apply(|node| {
        match node {
            LogicalPlan::TableScan(scan) => {
                let name = scan.table_name.table().to_string();
                first.get_or_insert_with(|| name.clone());
                found.entry(scan.table_name.clone()).or_insert(name);
            }
            LogicalPlan::SubqueryAlias(alias) => {
                if let LogicalPlan::TableScan(scan) = alias.input.as_ref() {
                    found.insert(alias.alias.clone(), scan.table_name.table().to_string());
                }
            }
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    });
    (found, first)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Config;
    use crate::engine::{Engine, EngineOptions, Session, full_sql_select};

    fn engine(dir: &tempfile::TempDir) -> Arc<Engine> {
        let mut config = Config::default();
        config.storage.data_dir = dir.path().to_path_buf();
        let engine = Engine::open(EngineOptions {
            config,
            synchronous: true,
            fixed_clock: true,
        })
        .expect("engine");
        let mut session = Session::default();
        engine
            .execute(
                "CREATE TABLE t (id STRING PRIMARY KEY, region STRING, v BIGINT) \
                 WITH (kafka_topic='t', value_format='JSON', partitions=1);
                 CREATE TABLE r (region STRING PRIMARY KEY, name STRING) \
                 WITH (kafka_topic='r', value_format='JSON', partitions=1);
                 INSERT INTO t (id, region, v) VALUES ('a', 'eu', 1);
                 INSERT INTO t (id, region, v) VALUES ('b', 'us', 5);
                 INSERT INTO t (id, region, v) VALUES ('c', 'eu', 7);
                 INSERT INTO r (region, name) VALUES ('eu', 'Europe');",
                &mut session,
            )
            .expect("setup");
        engine.run_until_idle().expect("idle");
        engine
    }

    async fn pull(engine: &Arc<Engine>, sql: &str) -> Result<KsqlPull, ServeError> {
        let statement = full_sql_select(sql).expect("a SELECT");
        Serving::new(engine.clone()).ksql_pull(statement).await
    }

    fn rows(pull: &KsqlPull) -> Vec<String> {
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&pull.batches).expect("format");
        text.to_string().lines().map(str::to_string).collect()
    }

    #[tokio::test]
    async fn order_by_keeps_the_projection_and_marks_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(&dir);
        let out = pull(&engine, "SELECT v, id FROM t WHERE v > 3 ORDER BY v DESC LIMIT 2;")
            .await
            .expect("pull");
        assert_eq!(out.schema.to_ksql_string(), "`V` BIGINT, `ID` STRING KEY");
        assert_eq!(out.source, "T");
        assert_eq!(rows(&out)[3..5], ["| 7 | c  |", "| 5 | b  |"]);
    }

    #[tokio::test]
    async fn aggregates_are_named_like_ksqldb_and_not_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(&dir);
        let out = pull(
            &engine,
            "SELECT region, SUM(v), COUNT(*) AS n FROM t GROUP BY region ORDER BY 2",
        )
        .await
        .expect("pull");
        assert_eq!(
            out.schema.to_ksql_string(),
            "`REGION` STRING, `KSQL_COL_0` BIGINT, `N` BIGINT"
        );
        assert_eq!(out.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
    }

    #[tokio::test]
    async fn joined_columns_of_one_name_are_prefixed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(&dir);
        let out = pull(
            &engine,
            "SELECT * FROM t JOIN r ON t.region = r.region WHERE t.id = 'a'",
        )
        .await
        .expect("pull");
        assert_eq!(
            out.schema.to_ksql_string(),
            "`ID` STRING KEY, `T_REGION` STRING, `V` BIGINT, `R_REGION` STRING KEY, `NAME` STRING"
        );
        let aliased = pull(&engine, "SELECT p.id, p.v FROM t p ORDER BY p.id")
            .await
            .expect("pull");
        assert_eq!(aliased.schema.to_ksql_string(), "`ID` STRING KEY, `V` BIGINT");
    }

    #[tokio::test]
    async fn unknown_columns_name_the_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine(&dir);
        let err = pull(&engine, "SELECT nope FROM t ORDER BY v")
            .await
            .expect_err("no such column");
        assert!(err.message.contains("NOPE"), "{}", err.message);
    }
}
