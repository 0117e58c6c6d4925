//! Materialized views as DataFusion tables, with key predicates pushed down to point and range lookups.
//!
//! **Where tables plug in.** The state layer keeps each materialized table as a sled tree keyed by the table's
//! key. To serve it, implement [`ViewScan`] for that tree (schema, key column, and a blocking `scan` that answers a
//! [`KeyLookup`] with point gets or a range iteration), and give [`super::Serving::with_views`] a [`ViewCatalog`]
//! that returns it for the table's [`SourceDef`]. [`ViewTable`] does the rest: it tells DataFusion which `WHERE`
//! conjuncts it can use (`key = v`, `key IN (...)`, `key <op> v`, `key BETWEEN a AND b`), turns them into one
//! `KeyLookup`, and lets DataFusion re-check every predicate on the rows returned (pushdown is `Inexact`), so a
//! `ViewScan` may return more rows than asked for, never fewer. Sources without a view are scanned from their
//! topic ([`super::scan`]).

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::scalar::ScalarValue;

use super::error::ServeError;
use crate::catalog::SourceDef;

/// The keys a pull query asks a view for, from its `WHERE` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyLookup {
    /// No usable key predicate: every row.
    All,
    /// `key = v` or `key IN (v, ...)`: point lookups, in no particular order.
    Points(Vec<ScalarValue>),
    /// `key > a`, `key <= b`, `key BETWEEN a AND b`, ...: one range scan.
    Range {
        lower: Bound<ScalarValue>,
        upper: Bound<ScalarValue>,
    },
    /// Predicates no key satisfies (`key = 1 AND key = 2`).
    Nothing,
}

/// A materialized view that can be read by key. Implemented by the table side of the state layer.
pub trait ViewScan: Send + Sync + std::fmt::Debug {
    /// The rows' layout: declared columns (keys first), then `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`, as
    /// [`crate::types::LogicalSchema::source_batch_schema`].
    fn schema(&self) -> SchemaRef;

    /// The key column lookups address, or `None` when the view cannot look up by key (every scan is `All`).
    fn key_column(&self) -> Option<&str>;

    /// Reads the rows `lookup` selects (at least those; extra rows are filtered out by the caller). `limit`, when
    /// given, is how many rows the query needs at most. Blocking (sled reads): called on a blocking thread.
    fn scan(&self, lookup: &KeyLookup, limit: Option<usize>) -> Result<Vec<RecordBatch>, ServeError>;
}

/// Finds the view that serves a source, if it is materialized.
pub trait ViewCatalog: Send + Sync {
    fn view(&self, source: &SourceDef) -> Option<Arc<dyn ViewScan>>;
}

/// A [`ViewScan`] as a DataFusion table.
#[derive(Debug)]
pub struct ViewTable {
    view: Arc<dyn ViewScan>,
}

impl ViewTable {
    pub fn new(view: Arc<dyn ViewScan>) -> Self {
        ViewTable { view }
    }

    /// The lookup one filter asks for, when it constrains the key column with literals only.
    fn lookup_of(&self, filter: &Expr) -> Option<KeyLookup> {
        let key = self.view.key_column()?;
        let key_type = self
            .view
            .schema()
            .field_with_name(key)
            .ok()
            .map(|f| f.data_type().clone())?;
        let is_key = |e: &Expr| matches!(e, Expr::Column(c) if c.name == key);
        let literal = |e: &Expr| match e {
            Expr::Literal(v, _) if !v.is_null() => v.cast_to(&key_type).ok(),
            _ => None,
        };
        match filter {
            // DataFusion turns a short `key IN (...)` into `key = a OR key = b ...`.
            Expr::BinaryExpr(b) if b.op == Operator::Or => {
                match (self.lookup_of(&b.left)?, self.lookup_of(&b.right)?) {
                    (KeyLookup::Points(mut p), KeyLookup::Points(q)) => {
                        p.extend(q);
                        Some(KeyLookup::Points(p))
                    }
                    _ => None,
                }
            }
            Expr::BinaryExpr(b) => {
                let (op, value) = if is_key(&b.left) {
                    (b.op, literal(&b.right)?)
                } else if is_key(&b.right) {
                    (b.op.swap()?, literal(&b.left)?)
                } else {
                    return None;
                };
                Some(match op {
                    Operator::Eq => KeyLookup::Points(vec![value]),
                    Operator::Gt => range(Bound::Excluded(value), Bound::Unbounded),
                    Operator::GtEq => range(Bound::Included(value), Bound::Unbounded),
                    Operator::Lt => range(Bound::Unbounded, Bound::Excluded(value)),
                    Operator::LtEq => range(Bound::Unbounded, Bound::Included(value)),
                    _ => return None,
                })
            }
            Expr::InList(list) if !list.negated && is_key(&list.expr) => {
                let values = list.list.iter().map(literal).collect::<Option<Vec<_>>>()?;
                Some(KeyLookup::Points(values))
            }
            Expr::Between(b) if !b.negated && is_key(&b.expr) => Some(range(
                Bound::Included(literal(&b.low)?),
                Bound::Included(literal(&b.high)?),
            )),
            _ => None,
        }
    }
}

fn range(lower: Bound<ScalarValue>, upper: Bound<ScalarValue>) -> KeyLookup {
    KeyLookup::Range { lower, upper }
}

/// Both lookups at once (the conjunction of the predicates they came from).
pub fn intersect(a: KeyLookup, b: KeyLookup) -> KeyLookup {
    use KeyLookup::*;
    match (a, b) {
        (All, x) | (x, All) => x,
        (Nothing, _) | (_, Nothing) => Nothing,
        (Points(p), Points(q)) => points(p.into_iter().filter(|v| q.contains(v)).collect()),
        (Points(p), Range { lower, upper }) | (Range { lower, upper }, Points(p)) => {
            points(p.into_iter().filter(|v| above(v, &lower) && below(v, &upper)).collect())
        }
        (Range { lower: l1, upper: u1 }, Range { lower: l2, upper: u2 }) => {
            let lower = tighter(l1, l2, Ordering::Greater);
            let upper = tighter(u1, u2, Ordering::Less);
            Range { lower, upper }
        }
    }
}

fn points(v: Vec<ScalarValue>) -> KeyLookup {
    if v.is_empty() {
        KeyLookup::Nothing
    } else {
        KeyLookup::Points(v)
    }
}

fn above(v: &ScalarValue, lower: &Bound<ScalarValue>) -> bool {
    match lower {
        Bound::Unbounded => true,
        Bound::Included(l) => v.partial_cmp(l).is_some_and(|o| o != Ordering::Less),
        Bound::Excluded(l) => v.partial_cmp(l) == Some(Ordering::Greater),
    }
}

fn below(v: &ScalarValue, upper: &Bound<ScalarValue>) -> bool {
    match upper {
        Bound::Unbounded => true,
        Bound::Included(u) => v.partial_cmp(u).is_some_and(|o| o != Ordering::Greater),
        Bound::Excluded(u) => v.partial_cmp(u) == Some(Ordering::Less),
    }
}

/// The tighter of two bounds: `prefer` is the ordering of the value that wins (Greater for lower bounds).
fn tighter(a: Bound<ScalarValue>, b: Bound<ScalarValue>, prefer: Ordering) -> Bound<ScalarValue> {
    let value = |x: &Bound<ScalarValue>| match x {
        Bound::Included(v) | Bound::Excluded(v) => Some(v.clone()),
        Bound::Unbounded => None,
    };
    match (value(&a), value(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(x), Some(y)) => match x.partial_cmp(&y) {
            Some(o) if o == prefer => a,
            Some(Ordering::Equal) => match (&a, &b) {
                (Bound::Excluded(_), _) => a,
                _ => b,
            },
            _ => b,
        },
    }
}

#[async_trait]
impl TableProvider for ViewTable {
    fn schema(&self) -> SchemaRef {
        self.view.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match self.lookup_of(f) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let lookup = filters
            .iter()
            .filter_map(|f| self.lookup_of(f))
            .fold(KeyLookup::All, intersect);
        // A limit applies after the filters DataFusion re-checks, so it only bounds an unfiltered read.
        let limit = if filters.is_empty() { limit } else { None };
        let view = self.view.clone();
        let batches = run_blocking(move || view.scan(&lookup, limit)).await?;
        let exec = MemorySourceConfig::try_new_exec(&[batches], self.view.schema(), projection.cloned())?;
        Ok(exec)
    }
}

/// Runs blocking storage reads off the async threads (inline when there is no runtime, as in unit tests).
pub(crate) async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServeError> + Send + 'static,
) -> DfResult<T> {
    let result = match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(f)
            .await
            .map_err(|e| DataFusionError::External(Box::new(ServeError::internal(e.to_string()))))?,
        Err(_) => f(),
    };
    result.map_err(|e| DataFusionError::External(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::prelude::SessionContext;
    use parking_lot::Mutex;
    use std::collections::BTreeMap;

    /// A view over a BTreeMap, recording the lookups it was asked for.
    #[derive(Debug)]
    struct MemView {
        rows: BTreeMap<i64, String>,
        asked: Mutex<Vec<KeyLookup>>,
    }

    impl ViewScan for MemView {
        fn schema(&self) -> SchemaRef {
            Arc::new(Schema::new(vec![
                Field::new("K", DataType::Int64, false),
                Field::new("V", DataType::Utf8, true),
            ]))
        }

        fn key_column(&self) -> Option<&str> {
            Some("K")
        }

        fn scan(&self, lookup: &KeyLookup, _limit: Option<usize>) -> Result<Vec<RecordBatch>, ServeError> {
            self.asked.lock().push(lookup.clone());
            let keys: Vec<i64> = match lookup {
                KeyLookup::All => self.rows.keys().copied().collect(),
                KeyLookup::Nothing => vec![],
                KeyLookup::Points(p) => p
                    .iter()
                    .filter_map(|v| match v {
                        ScalarValue::Int64(Some(k)) if self.rows.contains_key(k) => Some(*k),
                        _ => None,
                    })
                    .collect(),
                KeyLookup::Range { lower, upper } => {
                    let b = |x: &Bound<ScalarValue>| match x {
                        Bound::Included(ScalarValue::Int64(Some(v))) => Bound::Included(*v),
                        Bound::Excluded(ScalarValue::Int64(Some(v))) => Bound::Excluded(*v),
                        _ => Bound::Unbounded,
                    };
                    self.rows.range((b(lower), b(upper))).map(|(k, _)| *k).collect()
                }
            };
            let values: Vec<&str> = keys.iter().map(|k| self.rows[k].as_str()).collect();
            let batch = RecordBatch::try_new(
                self.schema(),
                vec![Arc::new(Int64Array::from(keys)), Arc::new(StringArray::from(values))],
            )
            .map_err(|e| ServeError::internal(e.to_string()))?;
            Ok(vec![batch])
        }
    }

    async fn run(sql: &str) -> (Vec<KeyLookup>, usize) {
        let view = Arc::new(MemView {
            rows: (1..=10).map(|k| (k, format!("v{k}"))).collect(),
            asked: Mutex::new(vec![]),
        });
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::new(ViewTable::new(view.clone()))).unwrap();
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        let asked = view.asked.lock().clone();
        (asked, rows)
    }

    #[tokio::test]
    async fn key_equality_is_a_point_lookup() {
        let (asked, rows) = run("SELECT * FROM t WHERE \"K\" = 3").await;
        assert_eq!(asked, vec![KeyLookup::Points(vec![ScalarValue::Int64(Some(3))])]);
        assert_eq!(rows, 1);
        let (asked, rows) = run("SELECT * FROM t WHERE \"K\" IN (2, 5, 11)").await;
        assert!(matches!(&asked[0], KeyLookup::Points(p) if p.len() == 3));
        assert_eq!(rows, 2);
    }

    #[tokio::test]
    async fn key_ranges_are_range_scans_and_other_predicates_are_rechecked() {
        let (asked, rows) = run("SELECT * FROM t WHERE \"K\" > 3 AND \"K\" <= 6 AND \"V\" <> 'v5'").await;
        assert_eq!(
            asked,
            vec![KeyLookup::Range {
                lower: Bound::Excluded(ScalarValue::Int64(Some(3))),
                upper: Bound::Included(ScalarValue::Int64(Some(6))),
            }]
        );
        assert_eq!(rows, 2);
        let (asked, rows) = run("SELECT * FROM t WHERE \"V\" = 'v2'").await;
        assert_eq!(asked, vec![KeyLookup::All]);
        assert_eq!(rows, 1);
    }

    #[test]
    fn lookups_intersect() {
        let p = |v: &[i64]| KeyLookup::Points(v.iter().map(|x| ScalarValue::Int64(Some(*x))).collect());
        assert_eq!(intersect(p(&[1, 2]), p(&[2, 3])), p(&[2]));
        assert_eq!(intersect(p(&[1]), p(&[2])), KeyLookup::Nothing);
        let r = range(Bound::Included(ScalarValue::Int64(Some(2))), Bound::Unbounded);
        assert_eq!(intersect(p(&[1, 2, 3]), r), p(&[2, 3]));
    }
}
